package failover

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
)

// Operators' mistakes end in one clear message, and the cluster keeps
// serving what it can.

func TestServerBadStartsAreClear(t *testing.T) {
	dir := t.TempDir()
	// Certificates made with the CLI: a CA, and node y's certs dir.
	certs := filepath.Join(dir, "certs")
	for _, args := range [][]string{{"cert", "create-ca", "--dir", certs}, {"cert", "create-node", "y", "--hosts", "127.0.0.1", "--dir", certs}} {
		if out, code := harness.RunKappa(t, 30*time.Second, args...); code != 0 {
			t.Fatalf("kappa %v: exit %d\n%s", args, code, out)
		}
	}
	keys := filepath.Join(dir, "cluster.keys")
	if out, code := harness.RunKappa(t, 10*time.Second, "keys", "generate", keys); code != 0 {
		t.Fatal(out)
	}
	cases := []struct {
		name    string
		args    []string
		want    string
		oneLine bool
	}{
		{"no bootstrap or join", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "a")}, "pass --bootstrap (first node), --join API_ADDR (any member), or --wait-join", true},
		{"both", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "b"), "--bootstrap", "--join", "127.0.0.1:1"}, "exclude each other", true},
		{"no certificates", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "n"), "--bootstrap"},
			"no certificates: pass --certs-dir DIR (ca.crt, node.crt, node.key; make them with `kappa cert create-node x --hosts …`), or --insecure", true},
		{"another node's certificate", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "o"), "--bootstrap",
			"--certs-dir", filepath.Join(certs, "y")}, `holds the certificate of node "y", not of --node-id "x"`, true},
		{"the CA's dir, no node certificate", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "p"), "--bootstrap",
			"--certs-dir", certs}, "node.crt does not exist", true},
		{"plaintext Raft off loopback", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "q"), "--bootstrap", "--insecure",
			"--raft-addr", "10.1.2.3:7100"}, "--insecure serves Raft without mutual TLS, which is allowed on loopback addresses only", true},
		{"no key file", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "k"), "--bootstrap", "--insecure"}, "--cluster-key-file is required", true},
		{"nothing at the join address", []string{"server", "--node-id", "x", "--data-dir", filepath.Join(dir, "c"), "--insecure", "--cluster-key-file", keys,
			"--store", "file://" + filepath.Join(dir, "shared-store"),
			"--raft-addr", harness.FreeAddr(t, "127.0.0.1"), "--api-addr", harness.FreeAddr(t, "127.0.0.1"),
			"--join", harness.FreeAddr(t, "127.0.0.1"), "--join-timeout", "3s"}, "cannot join the cluster at", false},
		{"bad config key", []string{"server", "--config", nodetest.WriteFile(t, "c.yaml", "node-id: x\ndata-dir: /tmp/x\nbogus: 1\n")}, "unknown setting(s) bogus", true},
	}
	for _, c := range cases {
		out, code := harness.RunKappa(t, 30*time.Second, c.args...)
		if code <= 0 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, output:\n%s\nwant %q", c.name, code, out, c.want)
		}
		if c.oneLine && strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("%s: want one line, got:\n%s", c.name, out)
		}
	}
}

func TestJoinRefusesDuplicateIDAndForeignDataDir(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	// A new process claiming n2's id (with n2's certificate) from another
	// address.
	raftAddr, apiAddr := harness.FreeAddr(t, "127.0.0.20"), harness.FreeAddr(t, "127.0.0.20")
	dupCerts, err := c.Procs().IssueNode("n2", raftAddr, apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	keys, store := c.KeyFile(), c.Procs().Store()
	out, code := harness.RunKappa(t, 30*time.Second, "server", "--node-id", "n2", "--data-dir", filepath.Join(t.TempDir(), "dup"), "--cluster-key-file", keys, "--store", store,
		"--raft-addr", raftAddr, "--api-addr", apiAddr, "--certs-dir", dupCerts,
		"--join", c.Nodes[0].APIAddr, "--join-timeout", "10s")
	if code <= 0 || !strings.Contains(out, `node id "n2" already belongs to the member at`) {
		t.Fatalf("duplicate id: exit %d\n%s", code, out)
	}
	// A data dir of another cluster: bootstrap a one-node cluster, stop it,
	// then point its data dir at this cluster.
	other := filepath.Join(t.TempDir(), "other")
	api := harness.FreeAddr(t, "127.0.0.21")
	soloCerts, err := c.Procs().IssueNode("solo", api)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = harness.RunKappa(t, 8*time.Second, "server", "--node-id", "solo", "--data-dir", other, "--cluster-key-file", keys, "--store", store, "--bootstrap",
		"--raft-addr", harness.FreeAddr(t, "127.0.0.21"), "--api-addr", api, "--certs-dir", soloCerts)
	if !strings.Contains(out, "leader loops started") {
		t.Fatalf("the other cluster did not come up:\n%s", out)
	}
	out, code = harness.RunKappa(t, 30*time.Second, "server", "--node-id", "solo", "--data-dir", other, "--cluster-key-file", keys, "--store", store,
		"--raft-addr", harness.FreeAddr(t, "127.0.0.21"), "--api-addr", api, "--certs-dir", soloCerts, "--join", c.Nodes[0].APIAddr)
	if code <= 0 || !strings.Contains(out, "belongs to cluster") {
		t.Fatalf("foreign data dir: exit %d\n%s", code, out)
	}
	// The cluster still serves.
	c.WaitMembers(3, 10*time.Second)
}

func TestLostQuorumRefusesWritesAndLosesNothing(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3})
	client := c.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bundle := nodetest.BundleOf(t, "def handler(event, context):\n    return 1\n")
	before, err := client.Submit(ctx, bundle, []byte("{}"), "before", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(c.Nodes[1])
	c.Kill(c.Nodes[2])
	short, cancelShort := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancelShort()
	_, err = c.PinnedClient(0).Submit(short, bundle, []byte("{}"), "during", 0)
	if err == nil || !strings.Contains(err.Error(), "no quorum") {
		t.Fatalf("a write without quorum: %v", err)
	}
	c.Restart(c.Nodes[1])
	c.Restart(c.Nodes[2])
	c.WaitLeader(30 * time.Second)
	st, err := client.Job(ctx, before.GetJobId(), false)
	if err != nil || st.GetName() != "before" {
		t.Fatalf("the acknowledged job before the outage: %v %v", st, err)
	}
}
