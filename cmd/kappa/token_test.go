package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// createToken runs `kappa token create NAME --role ROLE --append FILE` and
// returns the token it printed.
func createToken(t *testing.T, file, name, role string) string {
	t.Helper()
	r := kappa(t, "token", "create", name, "--role", role, "--append", file)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(r.stdout, "kappa_") {
		t.Fatalf("token create: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// A cluster with a token file: who holds which token may do what it says,
// through every client command, and the one-command unauthenticated join
// of a rogue member is refused.
func TestTokensThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	root := createToken(t, tokens, "root", "admin")
	alice := createToken(t, tokens, "alice", "submitter")
	bob := createToken(t, tokens, "bob", "submitter")
	watcher := createToken(t, tokens, "watcher", "reader")
	if info, err := os.Stat(tokens); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the token file: %v %v", info, err)
	}
	if b, _ := os.ReadFile(tokens); bytes.Contains(b, []byte(alice)) {
		t.Fatal("the token file holds a token itself, not only its hash")
	}
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: 1,
		ServerArgs: []string{"--log-level", "warn", "--token-file", tokens}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(5 * time.Second) })
	api := c.Nodes[0].APIAddr
	// Token holders trust the cluster's CA and have no certificate.
	caOnly := t.TempDir()
	ca, err := os.ReadFile(filepath.Join(c.CA().Dir, tlsconf.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caOnly, tlsconf.CAFile), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"KAPPA_CERTS_DIR=" + caOnly}
	as := func(token string) []string { return append([]string{"KAPPA_TOKEN=" + token}, env...) }

	r := kappaEnv(t, env, "cluster", "join", "evil", "--raft-addr", "10.255.255.1:7100", "--api-addr", "10.255.255.1:7000", "--cluster", api)
	if r.code != 1 || !strings.Contains(r.stderr, "requires a client certificate, a token or a task credential") {
		t.Fatalf("an unauthenticated join: exit %d\n%s", r.code, r.stderr)
	}
	r = kappaEnv(t, as(watcher), "cluster", "join", "evil", "--raft-addr", "10.255.255.1:7100", "--api-addr", "10.255.255.1:7000", "--cluster", api)
	if r.code != 1 || !strings.Contains(r.stderr, `reader "watcher" (token) may not call /kappa.v1.AdminService/Join`) {
		t.Fatalf("a reader's join: exit %d\n%s", r.code, r.stderr)
	}
	if r := kappaEnv(t, env, "cluster", "members", "--cluster", api, "--token", root); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("members after the refused joins: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	aliceFile := filepath.Join(dir, "alice.token")
	if err := os.WriteFile(aliceFile, []byte(alice+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := nodetest.WriteFile(t, "small.py", "def handler(event, context):\n    return 6 * 7\n")
	if r := kappaEnv(t, env, "run", prog, "--cluster", api, "--token-file", aliceFile); r.code != 2 || !strings.Contains(r.stderr, "readable by others") {
		t.Fatalf("a token file others can read: exit %d\n%s", r.code, r.stderr)
	}
	os.Chmod(aliceFile, 0o600)
	if r := kappaEnv(t, env, "run", prog, "--cluster", api, "--token-file", aliceFile); r.code != 0 || strings.TrimSpace(r.stdout) != "42" {
		t.Fatalf("alice's run: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	r = kappaEnv(t, as(bob), "jobs", "list", "--cluster", api)
	if r.code != 0 || strings.Contains(r.stdout, "j1") {
		t.Fatalf("bob's list shows alice's job: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = kappaEnv(t, as(bob), "jobs", "cancel", "j1", "--cluster", api)
	if r.code != 1 || !strings.Contains(r.stderr, `submitter "bob" (token) may call /kappa.v1.ClientService/CancelJob only for jobs it submitted`) {
		t.Fatalf("bob cancelling alice's job: exit %d\n%s", r.code, r.stderr)
	}
	if r := kappaEnv(t, env, "jobs", "show", "j1", "--cluster", api, "--token", alice); r.code != 0 || !regexp.MustCompile(`owner\s+alice\n`).MatchString(r.stdout) {
		t.Fatalf("alice showing her job: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Without --append, `kappa token create` prints the token and the line
// that admits it: the token's sha256, the role and the name.
func TestTokenCreatePrintsTheTokenAndItsLine(t *testing.T) {
	r := kappa(t, "token", "create", "bob", "--role", "reader")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "kappa_") {
		t.Fatalf("token create: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	sum := sha256.Sum256([]byte(lines[0]))
	if want := hex.EncodeToString(sum[:]) + " reader bob"; lines[1] != want {
		t.Fatalf("the token's line: got %q, want %q", lines[1], want)
	}
	if r := kappa(t, "token", "create", "bob", "--role", "root"); r.code != 2 || !strings.Contains(r.stderr, `--role: unknown role "root" (want admin, operator, submitter or reader)`) {
		t.Fatalf("an unknown role: exit %d %s", r.code, r.stderr)
	}
}
