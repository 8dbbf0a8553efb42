package proccluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// pki is a secure cluster's certificates, under Dir/certs: the CA, a certs
// dir per node and for lambda-local, an admin client's, and the Invoke
// API's signing key. It is made afresh at every Start (the nodes of an
// earlier run restart with the new CA), so addresses may change between
// runs.
type pki struct {
	dir        string
	ca         *tlsconf.CA
	admin      *tlsconf.Certs
	adminCreds grpc.DialOption
	keyID      string
	keySecret  string // path of the file holding the secret access key
}

// AdminName is the admin client certificate's name in a secure cluster.
const AdminName = "admin"

func newPKI(dir string) (*pki, error) {
	dir = filepath.Join(dir, "certs")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	ca, err := tlsconf.CreateCA(filepath.Join(dir, "ca"), 0)
	if err != nil {
		return nil, fmt.Errorf("proccluster: making a CA: %w", err)
	}
	p := &pki{dir: dir, ca: ca}
	adminDir := filepath.Join(dir, AdminName)
	if err := ca.IssueClient(adminDir, AdminName, tlsconf.RoleAdmin, 0); err != nil {
		return nil, err
	}
	if p.admin, err = tlsconf.Load(adminDir); err != nil {
		return nil, err
	}
	if p.adminCreds, err = kappaclient.WithCerts(p.admin); err != nil {
		return nil, err
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	p.keyID, p.keySecret = "KAPPADEV"+hex.EncodeToString(secret[:6]), filepath.Join(dir, "invoke-secret")
	if err := os.WriteFile(p.keySecret, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

// node issues (once) node id's certs dir, naming the hosts of addrs and
// loopback.
func (p *pki) node(id string, addrs ...string) (string, error) {
	out := filepath.Join(p.dir, id)
	if _, err := os.Stat(filepath.Join(out, tlsconf.NodePair.Cert)); err == nil {
		return out, nil
	}
	return out, p.ca.IssueNode(out, id, hosts(addrs), 0)
}

// lambda issues lambda-local's certs dir for addr.
func (p *pki) lambda(addr string) (string, error) {
	out := filepath.Join(p.dir, "lambda-local")
	return out, p.ca.IssueLambda(out, hosts([]string{addr}), 0)
}

// signing are the flags that make lambda-local check, and a node sign
// with, the cluster's Invoke API key.
func (p *pki) signing() []string {
	return []string{"--access-key-id", p.keyID, "--secret-access-key-file", p.keySecret}
}

func hosts(addrs []string) []string {
	out := []string{"127.0.0.1", "localhost"}
	for _, a := range addrs {
		if h := hostOf(a); h != "" && h != "127.0.0.1" && h != "localhost" {
			out = append(out, h)
		}
	}
	return out
}

// CertsDir is the admin client's certs dir of a secure cluster (for
// KAPPA_CERTS_DIR); "" for an insecure one.
func (c *Cluster) CertsDir() string {
	if c.pki == nil {
		return ""
	}
	return c.pki.admin.Dir()
}

// IssueNode makes a certs dir for one more node (say, one a test starts by
// hand), naming the hosts of addrs; "" for an insecure cluster.
func (c *Cluster) IssueNode(id string, addrs ...string) (string, error) {
	if c.pki == nil {
		return "", nil
	}
	return c.pki.node(id, addrs...)
}

// IssueClient makes a client certs dir with role (tests of what each role
// may do); "" for an insecure cluster.
func (c *Cluster) IssueClient(name string, role tlsconf.Role) (string, error) {
	if c.pki == nil {
		return "", nil
	}
	out := filepath.Join(c.pki.dir, "clients", name)
	return out, c.pki.ca.IssueClient(out, name, role, 0)
}

// DialAs dials a secure cluster's API over TLS as the holder of certs dir
// dir (from IssueClient or IssueNode): with its client or node
// certificate. An empty dir trusts the CA and presents no certificate,
// as token holders and tasks connect.
func (c *Cluster) DialAs(dir string) (grpc.DialOption, error) {
	if c.pki == nil {
		return nil, fmt.Errorf("proccluster: an insecure cluster has no certificates to dial with")
	}
	if dir == "" {
		dir = c.pki.ca.Dir
	}
	certs, err := tlsconf.Load(dir)
	if err != nil {
		return nil, err
	}
	o := tlsconf.ClientOptions{ServerRole: tlsconf.RoleNode}
	for _, p := range []tlsconf.Pair{tlsconf.ClientPair, tlsconf.NodePair} {
		if certs.Has(p) {
			o.Pair = &p
			break
		}
	}
	creds, err := certs.Credentials(o)
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(creds), nil
}

// CA is the cluster's CA (nil for an insecure cluster): tests issue
// certificates of their own with it.
func (c *Cluster) CA() *tlsconf.CA {
	if c.pki == nil {
		return nil
	}
	return c.pki.ca
}

// ClientOptions connect a client as the cluster's admin (or in plaintext
// to an insecure cluster), plus Options.ClientOptions (e.g. a token).
func (c *Cluster) ClientOptions() []grpc.DialOption {
	transport := kappaclient.Insecure()
	if c.pki != nil {
		transport = c.pki.adminCreds
	}
	return append([]grpc.DialOption{transport}, c.opts.ClientOptions...)
}

// LambdaHTTP is how a test reaches lambda-local itself: its base URL, an
// HTTP client trusting the cluster's CA, and the Invoke API key to sign
// requests with (empty for an insecure cluster, which checks none).
func (c *Cluster) LambdaHTTP() (base string, client *http.Client, keyID, secret string, err error) {
	addr := c.opts.LambdaLocal.Addr
	if addr == "" {
		return "", nil, "", "", fmt.Errorf("proccluster: this cluster runs no lambda-local")
	}
	if c.pki == nil {
		return "http://" + addr, http.DefaultClient, "", "", nil
	}
	cfg, err := c.pki.admin.ClientConfig(tlsconf.ClientOptions{ServerRole: tlsconf.RoleLambda, Host: hostOf(addr)})
	if err != nil {
		return "", nil, "", "", err
	}
	b, err := os.ReadFile(c.pki.keySecret)
	if err != nil {
		return "", nil, "", "", err
	}
	client = &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	return "https://" + addr, client, c.pki.keyID, strings.TrimSpace(string(b)), nil
}

// NodeHTTP is how a test reaches a node's HTTP port at addr (metrics,
// profiles): its base URL and a client that trusts the cluster's CA and
// shows the admin certificate (plain http for an insecure cluster).
func (c *Cluster) NodeHTTP(addr string) (base string, client *http.Client, err error) {
	if c.pki == nil {
		return "http://" + addr, http.DefaultClient, nil
	}
	cfg, err := c.pki.admin.ClientConfig(tlsconf.ClientOptions{Pair: &tlsconf.ClientPair, ServerRole: tlsconf.RoleNode, Host: hostOf(addr)})
	if err != nil {
		return "", nil, err
	}
	return "https://" + addr, &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// LambdaScheme is the scheme of lambda-local's URL: https, or http for an
// insecure cluster.
func LambdaScheme(insecure bool) string {
	if insecure {
		return "http"
	}
	return "https"
}
