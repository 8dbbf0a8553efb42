package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA with a node's, a client's and lambda-local's certs dirs.
type pki struct {
	ca                   *CA
	node, client, lambda string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	base := t.TempDir()
	ca, err := CreateCA(filepath.Join(base, "ca"), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{ca: ca, node: filepath.Join(base, "n1"), client: filepath.Join(base, "alice"), lambda: filepath.Join(base, "lambda")}
	must(t, ca.IssueNode(p.node, "n1", []string{"127.0.0.1", "localhost"}, 0))
	must(t, ca.IssueClient(p.client, "alice", RoleSubmitter, 0))
	must(t, ca.IssueLambda(p.lambda, []string{"127.0.0.1"}, 0))
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, dir string) *Certs {
	t.Helper()
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// server accepts TLS connections with cfg and reports, per connection,
// the client's identity (or the handshake's error).
type server struct {
	addr string
	seen chan any
}

func serve(t *testing.T, cfg *tls.Config) *server {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &server{addr: ln.Addr().String(), seen: make(chan any, 16)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				s.seen <- err
			} else if id, ok := PeerIdentity(tc.ConnectionState()); ok {
				s.seen <- id
			} else {
				s.seen <- "anonymous"
			}
			conn.Close()
		}
	}()
	return s
}

// nodeServer serves with a new node's certificate, treating client
// certificates by auth.
func nodeServer(t *testing.T, auth tls.ClientAuthType) (*pki, *Certs, *server) {
	t.Helper()
	p := newPKI(t)
	nodeCerts := load(t, p.node)
	cfg, err := nodeCerts.ServerConfig(NodePair, auth)
	must(t, err)
	return p, nodeCerts, serve(t, cfg)
}

// dial connects to addr as host and returns the server's leaf certificate.
func dial(t *testing.T, addr string, cfg *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func (s *server) next(t *testing.T) any {
	t.Helper()
	select {
	case v := <-s.seen:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("the server saw no connection")
		return nil
	}
}

// TestIdentities: a server that verifies client certificates if given
// sees each client's role and name, a client without a certificate as
// anonymous, and a client whose certificate another CA signed not at all.
func TestIdentities(t *testing.T) {
	p, _, s := nodeServer(t, tls.VerifyClientCertIfGiven)

	for _, tc := range []struct {
		dir  string
		pair *Pair
		want any
	}{
		{p.client, &ClientPair, Identity{Name: "alice", Role: RoleSubmitter}},
		{p.node, &NodePair, Identity{Name: "n1", Role: RoleNode}},
		{p.client, nil, "anonymous"},
	} {
		cc, err := load(t, tc.dir).ClientConfig(ClientOptions{Pair: tc.pair, ServerRole: RoleNode, Host: "127.0.0.1"})
		must(t, err)
		if _, err := dial(t, s.addr, cc); err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if got := s.next(t); got != tc.want {
			t.Errorf("%s: the server saw %v, want %v", tc.dir, got, tc.want)
		}
	}

	// A client certificate of another CA: the handshake fails on the server.
	other := newPKI(t)
	cc, err := load(t, other.client).ClientConfig(ClientOptions{Pair: &ClientPair, AnyHost: true})
	must(t, err)
	cc.VerifyConnection = nil // this stranger trusts any server
	_, _ = dial(t, s.addr, cc)
	if got, ok := s.next(t).(error); !ok || !strings.Contains(got.Error(), "certificate") {
		t.Errorf("another CA's client certificate: the server saw %v, want a certificate error", got)
	}
}

// TestServerChecks: a client refuses a server whose certificate another
// CA signed, names another host, or states another role than asked.
func TestServerChecks(t *testing.T) {
	p := newPKI(t)
	lambdaCfg, err := load(t, p.lambda).ServerConfig(LambdaPair, tls.NoClientCert)
	must(t, err)
	s := serve(t, lambdaCfg)
	go func() {
		for range s.seen {
		}
	}()
	client := load(t, p.client)
	check := func(name, host string, o ClientOptions, want string) {
		t.Helper()
		o.Host = host
		cc, err := client.ClientConfig(o)
		must(t, err)
		_, err = dial(t, s.addr, cc)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
	check("right host", "127.0.0.1", ClientOptions{ServerRole: RoleLambda}, "")
	check("wrong host", "10.9.9.9", ClientOptions{}, "10.9.9.9")
	check("any host", "10.9.9.9", ClientOptions{AnyHost: true}, "")
	check("wrong role", "127.0.0.1", ClientOptions{ServerRole: RoleNode}, "not a node certificate")
	stranger := load(t, newPKI(t).client)
	cc, err := stranger.ClientConfig(ClientOptions{Host: "127.0.0.1"})
	must(t, err)
	if _, err := dial(t, s.addr, cc); err == nil || !strings.Contains(err.Error(), "not valid for this cluster") {
		t.Errorf("a server of another CA: %v", err)
	}
}

// TestReload: a certificate replaced on disk is what the next connection
// sees, without making a new configuration; a half-replaced pair keeps
// the old one in use and says why.
func TestReload(t *testing.T) {
	p, nodeCerts, s := nodeServer(t, tls.RequireAndVerifyClientCert)
	cc, err := load(t, p.client).ClientConfig(ClientOptions{Pair: &ClientPair, Host: "127.0.0.1"})
	must(t, err)
	first, err := dial(t, s.addr, cc)
	must(t, err)
	s.next(t)

	// Rotate: a new node certificate (another name, a new key) issued
	// elsewhere and moved into place, as docs/security.md says.
	fresh := filepath.Join(t.TempDir(), "n1-new")
	must(t, p.ca.IssueNode(fresh, "n1", []string{"127.0.0.1", "n1.example"}, 0))
	oldKey, _ := os.ReadFile(filepath.Join(p.node, NodePair.Key))
	must(t, os.Rename(filepath.Join(fresh, NodePair.Cert), filepath.Join(p.node, NodePair.Cert)))
	// Halfway: the new certificate with the old key does not load.
	if _, err := dial(t, s.addr, cc); err != nil {
		t.Fatalf("halfway through a rotation the old pair must stay in use: %v", err)
	}
	s.next(t)
	if err := nodeCerts.Err(); err == nil || !strings.Contains(err.Error(), "node.crt") {
		t.Errorf("Err halfway through a rotation: %v", err)
	}
	must(t, os.Rename(filepath.Join(fresh, NodePair.Key), filepath.Join(p.node, NodePair.Key)))
	second, err := dial(t, s.addr, cc)
	must(t, err)
	s.next(t)
	if first.SerialNumber.Cmp(second.SerialNumber) == 0 || !strings.Contains(strings.Join(second.DNSNames, ","), "n1.example") {
		t.Errorf("the rotated certificate was not served: serial %v then %v, names %v", first.SerialNumber, second.SerialNumber, second.DNSNames)
	}
	if err := nodeCerts.Err(); err != nil {
		t.Errorf("Err after the rotation completed: %v", err)
	}
	if newKey, _ := os.ReadFile(filepath.Join(p.node, NodePair.Key)); string(newKey) == string(oldKey) {
		t.Fatal("the key did not change")
	}

	// A new CA replaces the old one everywhere: until the client's ca.crt
	// is replaced too, it refuses the server; then it accepts it.
	ca2, err := CreateCA(filepath.Join(t.TempDir(), "ca2"), 0)
	must(t, err)
	n2 := filepath.Join(t.TempDir(), "n1")
	c2 := filepath.Join(t.TempDir(), "alice")
	must(t, ca2.IssueNode(n2, "n1", []string{"127.0.0.1"}, 0))
	must(t, ca2.IssueClient(c2, "alice", RoleSubmitter, 0))
	for _, f := range []string{CAFile, NodePair.Cert, NodePair.Key} {
		must(t, os.Rename(filepath.Join(n2, f), filepath.Join(p.node, f)))
	}
	if _, err := dial(t, s.addr, cc); err == nil {
		t.Fatal("a client trusting the old CA accepted the new CA's server")
	}
	for _, f := range []string{CAFile, ClientPair.Cert, ClientPair.Key} {
		must(t, os.Rename(filepath.Join(c2, f), filepath.Join(p.client, f)))
	}
	if _, err := dial(t, s.addr, cc); err != nil {
		t.Fatalf("after both sides moved to the new CA: %v", err)
	}
}

// TestIssue: files and their modes, no overwriting, clear refusals.
func TestIssue(t *testing.T) {
	p := newPKI(t)
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{filepath.Join(p.ca.Dir, CAKeyFile), 0o600},
		{filepath.Join(p.ca.Dir, CAFile), 0o644},
		{filepath.Join(p.node, NodePair.Key), 0o600},
		{filepath.Join(p.node, NodePair.Cert), 0o644},
		{filepath.Join(p.node, CAFile), 0o644},
		{filepath.Join(p.client, ClientPair.Key), 0o600},
	} {
		fi, err := os.Stat(f.path)
		must(t, err)
		if fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode().Perm(), f.mode)
		}
	}
	for name, err := range map[string]error{
		"node again":      p.ca.IssueNode(p.node, "n1", []string{"127.0.0.1"}, 0),
		"ca again":        func() error { _, err := CreateCA(p.ca.Dir, 0); return err }(),
		"node, no hosts":  p.ca.IssueNode(t.TempDir(), "n2", nil, 0),
		"bad role":        p.ca.IssueClient(t.TempDir(), "bob", RoleNode, 0),
		"bad name":        p.ca.IssueClient(t.TempDir(), "bob smith", RoleReader, 0),
		"other CA's dir":  newPKI(t).ca.IssueClient(p.client, "carol", RoleReader, 0),
		"no CA":           func() error { _, err := LoadCA(t.TempDir()); return err }(),
		"empty node name": p.ca.IssueNode(t.TempDir(), "", []string{"h"}, 0),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A loaded CA issues as the created one does.
	ca, err := LoadCA(p.ca.Dir)
	must(t, err)
	must(t, ca.IssueClient(t.TempDir(), "bob", RoleReader, time.Hour))

	// Loading a pair checks its role.
	if _, err := load(t, p.client).Certificate(NodePair); err == nil {
		t.Error("a client dir served as a node's")
	}
	if _, err := load(t, p.node).ClientConfig(ClientOptions{Pair: &ClientPair, AnyHost: true}); err == nil || !strings.Contains(err.Error(), "client.crt does not exist") {
		t.Errorf("a node dir used as a client's: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "ca.crt does not exist") {
		t.Errorf("an empty certs dir: %v", err)
	}
}

// TestIdentityOf: exactly one known kappa role and a name, or nothing.
func TestIdentityOf(t *testing.T) {
	cert := func(cn string, ous ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, OrganizationalUnit: ous}}
	}
	for _, tc := range []struct {
		cert *x509.Certificate
		want Identity
		ok   bool
	}{
		{cert("n1", "kappa:node"), Identity{"n1", RoleNode}, true},
		{cert("alice", "engineering", "kappa:admin"), Identity{"alice", RoleAdmin}, true},
		{cert("alice", "kappa:root"), Identity{}, false},
		{cert("alice", "kappa:admin", "kappa:reader"), Identity{}, false},
		{cert("", "kappa:admin"), Identity{}, false},
		{cert("alice"), Identity{}, false},
		{nil, Identity{}, false},
	} {
		got, ok := IdentityOf(tc.cert)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%v: got %v %v, want %v %v", tc.cert, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := PeerIdentity(tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert("n1", "kappa:node")}}); ok {
		t.Error("an unverified certificate gave an identity")
	}
}
