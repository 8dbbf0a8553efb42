package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// The procedure of docs/security.md, by hand with the CLI: a CA, a node's,
// lambda-local's and an admin's certificates, a signing key; lambda-local
// and a node started with them; a job run through them; then the node's
// certificate rotated on disk, which new connections get without a
// restart.
func TestCertificateProcedure(t *testing.T) {
	bin := nodetest.KappaBinary(t)
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	raftAddr, apiAddr, lambdaAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	mustRun := func(args ...string) string {
		t.Helper()
		r := kappa(t, args...)
		if r.code != 0 {
			t.Fatalf("kappa %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	mustRun("cert", "create-ca", "--dir", certs)
	mustRun("cert", "create-node", "n1", "--hosts", "127.0.0.1,localhost", "--dir", certs)
	mustRun("cert", "create-lambda", "--hosts", "127.0.0.1", "--dir", certs)
	mustRun("cert", "create-client", "alice", "--role", "admin", "--dir", certs)
	if r := kappa(t, "cert", "create-node", "n1", "--hosts", "127.0.0.1", "--dir", certs); r.code != 2 || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Fatalf("issuing n1 again: %+v", r)
	}
	secret := filepath.Join(dir, "invoke-secret")
	if err := os.WriteFile(secret, []byte("s3cret-s3cret-s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signing := []string{"--access-key-id", "AKIDKAPPADOCS", "--secret-access-key-file", secret}
	lambdaArgs := append([]string{"lambda-local", "--addr", lambdaAddr, "--certs-dir", filepath.Join(certs, "lambda-local")}, signing...)
	if r := kappa(t, lambdaArgs...); r.code != 2 || !strings.Contains(r.stderr, "is readable by others (mode -rw-r--r--): chmod 600 it") {
		t.Fatalf("a world-readable secret: %+v", r)
	}
	if err := os.Chmod(secret, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "cluster.keys")
	mustRun("keys", "generate", keys)
	lambdaLocal := proccluster.NewProcess("lambda-local", bin, lambdaArgs, filepath.Join(dir, "lambda-local.log"))
	server := proccluster.NewProcess("n1", bin, append([]string{"server", "--node-id", "n1", "--data-dir", filepath.Join(dir, "n1"), "--bootstrap", "--cluster-key-file", keys,
		"--raft-addr", raftAddr, "--api-addr", apiAddr, "--certs-dir", filepath.Join(certs, "n1"), "--lambda", "https://" + lambdaAddr}, signing...),
		filepath.Join(dir, "n1.log"))
	for _, p := range []*proccluster.Process{lambdaLocal, server} {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
	}
	for _, addr := range []string{lambdaAddr, apiAddr} {
		if err := proccluster.WaitListening(addr, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	alice := []string{"KAPPA_CERTS_DIR=" + filepath.Join(certs, "alice")}
	if r := kappaEnv(t, alice, "run", "--cluster", apiAddr, example("fib.py"), "--event", `{"n": 6}`); r.code != 0 || strings.TrimSpace(r.stdout) != "8" {
		log, _ := os.ReadFile(server.LogPath())
		t.Fatalf("run: exit %d %q\n%s\nnode log:\n%s", r.code, r.stdout, r.stderr, log)
	}

	// Rotation: issue into another dir, move the files into place.
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tlsconf.Load(filepath.Join(certs, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := c.ClientConfig(tlsconf.ClientOptions{Host: "127.0.0.1", ServerRole: tlsconf.RoleNode})
		if err != nil {
			t.Fatal(err)
		}
		cfg.NextProtos = []string{"h2"}
		conn, err := tls.Dial("tcp", apiAddr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	before := served()
	fresh := filepath.Join(dir, "n1-rotated")
	mustRun("cert", "create-node", "n1", "--hosts", "127.0.0.1,n1.example", "--dir", certs, "--out", fresh)
	for _, f := range []string{tlsconf.NodePair.Cert, tlsconf.NodePair.Key} {
		if err := os.Rename(filepath.Join(fresh, f), filepath.Join(certs, "n1", f)); err != nil {
			t.Fatal(err)
		}
	}
	after := served()
	if before.SerialNumber.Cmp(after.SerialNumber) == 0 || !strings.Contains(strings.Join(after.DNSNames, " "), "n1.example") {
		t.Fatalf("the node still serves its old certificate (serial %v, names %v)", after.SerialNumber, after.DNSNames)
	}
	if r := kappaEnv(t, alice, "status", "--cluster", apiAddr); r.code != 0 || !strings.Contains(r.stdout, "leader") {
		t.Fatalf("status after the rotation: %+v", r)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
