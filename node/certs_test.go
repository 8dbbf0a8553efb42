package node

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// testCA issues certificates for tests of the API's principals, as
// `kappa cert` does (tlsconf).
type testCA struct {
	ca *tlsconf.CA
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca, err := tlsconf.CreateCA(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{ca: ca}
}

// nodeTLS gives a node a node certificate for id: TLS on its API, and
// that certificate on its calls to other nodes.
func (ca *testCA) nodeTLS(t *testing.T, id string) func(*Config) {
	t.Helper()
	out := t.TempDir()
	if err := ca.ca.IssueNode(out, id, []string{"127.0.0.1"}, 0); err != nil {
		t.Fatal(err)
	}
	certs := ca.load(t, out)
	return func(c *Config) { c.Certs = certs }
}

// as dials a node's API over TLS presenting a certificate named name
// with role (a client role, "node" or "lambda").
func (ca *testCA) as(t *testing.T, name string, role tlsconf.Role) grpc.DialOption {
	t.Helper()
	out := t.TempDir()
	var err error
	pair := tlsconf.ClientPair
	switch role {
	case tlsconf.RoleNode:
		pair, err = tlsconf.NodePair, ca.ca.IssueNode(out, name, []string{"127.0.0.1"}, 0)
	case tlsconf.RoleLambda:
		pair, err = tlsconf.LambdaPair, ca.ca.IssueLambda(out, []string{"127.0.0.1"}, 0)
	default:
		err = ca.ca.IssueClient(out, name, role, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ca.dial(t, out, &pair)
}

// anonymous dials over TLS without a certificate.
func (ca *testCA) anonymous(t *testing.T) grpc.DialOption {
	return ca.dial(t, ca.ca.Dir, nil)
}

func (ca *testCA) dial(t *testing.T, dir string, pair *tlsconf.Pair) grpc.DialOption {
	t.Helper()
	creds, err := ca.load(t, dir).Credentials(tlsconf.ClientOptions{Pair: pair, ServerRole: tlsconf.RoleNode})
	if err != nil {
		t.Fatal(err)
	}
	return grpc.WithTransportCredentials(creds)
}

func (ca *testCA) load(t *testing.T, dir string) *tlsconf.Certs {
	t.Helper()
	certs, err := tlsconf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}
