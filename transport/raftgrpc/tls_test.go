package raftgrpc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testCA issues certificates for 127.0.0.1, good for both ends of a
// connection, as a cluster's nodes use them.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca := &testCA{}
	ca.cert, ca.key = ca.sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kappa test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	})
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(ca.cert)
	return ca
}

func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	cert, key := ca.sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}
}

// sign makes a key and an hour-long certificate for it from tmpl, signed by
// the CA, or by itself while the CA has no certificate yet.
func (ca *testCA) sign(t *testing.T, tmpl *x509.Certificate) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	parent, parentKey := ca.cert, ca.key
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// mutualTLS is a node's config: its certificate, and the CA for both
// checking servers and requiring client certificates.
func (ca *testCA) mutualTLS(t *testing.T) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "node")},
		RootCAs:      ca.pool,
		ClientCAs:    ca.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// TestMutualTLSCluster: a cluster replicates over mutual TLS, and a peer
// without a certificate, with one from another CA, or in plaintext is
// refused.
func TestMutualTLSCluster(t *testing.T) {
	ca := newTestCA(t)
	c := newCluster(t, clusterOptions{tls: ca.mutualTLS(t)})
	leader := c.leader()
	c.applyN(leader, 100, 4)
	c.converged(100)

	target := c.followers()[0].addr
	strangers := map[string]*tls.Config{
		"no certificate": {RootCAs: ca.pool, MinVersion: tls.VersionTLS13},
		"another CA's":   newTestCA(t).mutualTLS(t),
		"plaintext":      nil,
	}
	for name, cfg := range strangers {
		if name == "another CA's" {
			cfg.RootCAs = ca.pool // it trusts the cluster; the cluster must not trust it
		}
		stranger := newTransport(t, Config{TLS: cfg, Timeout: 2 * time.Second})
		err := stranger.RequestVote("s", target, &raft.RequestVoteRequest{Term: 1 << 40}, &raft.RequestVoteResponse{})
		t.Logf("%s: %v", name, err)
		requireRPCError(t, err, "RequestVote", target, nil)
	}
	// Their huge term never reached raft: the cluster goes on as before.
	if leader.raft.State() != raft.Leader {
		t.Fatal("a stranger's vote request deposed the leader")
	}
	c.applyN(leader, 10, 1)
	c.converged(110)
}
