package recovery

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

func startCluster(t *testing.T, o proccluster.Options) *proccluster.Cluster {
	t.Helper()
	o.Binary, o.Dir = nodetest.KappaBinary(t), t.TempDir()
	o.ServerArgs = append(o.ServerArgs, "--log-level", "info")
	c, err := proccluster.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(0) })
	return c
}

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// refused runs `kappa server` with args, which must exit non-zero saying
// every one of want.
func refused(t *testing.T, args []string, want ...string) {
	t.Helper()
	out, code := harness.RunKappa(t, time.Minute, append([]string{"server"}, args...)...)
	if code == 0 || code == -1 {
		t.Fatalf("kappa server %s: exit %d, want a refusal:\n%s", strings.Join(args, " "), code, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("kappa server %s: the refusal does not say %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	t.Logf("refused: %s", lines[len(lines)-1])
}

// A node configured with another store is refused when it joins; one
// without --store (its own directory) is refused before it asks; a member
// restarted with another store stops with the reason.
func TestANodeWithAnotherStoreIsRefused(t *testing.T) {
	c := startCluster(t, proccluster.Options{Nodes: 2})
	shared := strings.TrimPrefix(c.Store(), "file://")
	nodetest.Eventually(t, 30*time.Second, "the cluster's store recorded", func() bool {
		return strings.Contains(c.Log(c.Nodes[0]), "recorded the cluster's checkpoint store")
	})
	other := t.TempDir()
	newNode := func(id string, more ...string) []string {
		raft, api := freeAddr(t), freeAddr(t)
		certs, err := c.IssueNode(id, raft, api)
		if err != nil {
			t.Fatal(err)
		}
		return append([]string{"--node-id", id, "--data-dir", filepath.Join(t.TempDir(), id), "--raft-addr", raft, "--api-addr", api,
			"--certs-dir", certs, "--cluster-key-file", c.KeyFile(), "--join", c.Nodes[0].APIAddr}, more...)
	}
	refused(t, newNode("n9", "--store", "file://"+other),
		`node "n9" uses the checkpoint store file://`+other, "but the cluster uses file://"+shared)
	refused(t, newNode("n8"), "keeps its checkpoints in its own data dir", "--store")

	n2 := c.Nodes[1]
	c.Kill(n2)
	certs, err := c.IssueNode(n2.ID) // its own, issued at the start
	if err != nil {
		t.Fatal(err)
	}
	refused(t, []string{"--node-id", n2.ID, "--data-dir", n2.DataDir, "--raft-addr", n2.RaftAddr, "--api-addr", n2.APIAddr,
		"--certs-dir", certs, "--cluster-key-file", c.KeyFile(), "--store", "file://" + other},
		"this node's checkpoint store is file://"+other, "but the cluster's is file://"+shared)
}

// A cluster whose node keeps checkpoints in its own data dir (no --store)
// refuses a second voter and names the fix.
func TestAPerNodeStoreClusterRefusesASecondVoter(t *testing.T) {
	dir := t.TempDir()
	api := freeAddr(t)
	keys := filepath.Join(dir, "cluster.keys")
	if _, err := checkpoint.EnsureKeyFile(keys); err != nil {
		t.Fatal(err)
	}
	first := proccluster.NewProcess("p1", nodetest.KappaBinary(t), []string{"server", "--node-id", "p1", "--data-dir", filepath.Join(dir, "p1"),
		"--raft-addr", freeAddr(t), "--api-addr", api, "--bootstrap", "--insecure", "--cluster-key-file", keys}, filepath.Join(dir, "p1.log"))
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Kill)
	if err := proccluster.WaitListening(api, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	refused(t, []string{"--node-id", "p2", "--data-dir", filepath.Join(dir, "p2"), "--raft-addr", freeAddr(t), "--api-addr", freeAddr(t),
		"--store", "file://" + t.TempDir(), "--join", api, "--insecure", "--cluster-key-file", keys},
		`cannot add node "p2": this cluster keeps its checkpoints in one node's own data dir (file://`+filepath.Join(dir, "p1", "store"),
		"restart the cluster's node with a --store every node shares")
}

// With --dead-server-after, the leader removes a killed voter and counts
// it; a second one stays, since removing it would leave fewer voters than
// --min-quorum.
func TestDeadServersAreRemovedDownToMinQuorum(t *testing.T) {
	metrics := make([]string, 4)
	c := startCluster(t, proccluster.Options{Nodes: 4,
		Addrs: func(i int) (string, string, []string, error) {
			metrics[i] = freeAddr(t)
			return freeAddr(t), freeAddr(t), []string{"--metrics-addr", metrics[i]}, nil
		},
		ServerArgs: []string{"--dead-server-after", "2s", "--min-quorum", "3"}})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var victims []*proccluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			victims = append(victims, n)
		}
	}
	members := func() (voters int, ids string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m, err := c.Client().Members(ctx)
		if err != nil {
			return -1, err.Error()
		}
		for _, mem := range m.GetMembers() {
			if mem.GetVoter() {
				voters++
				ids += mem.GetNodeId() + " "
			}
		}
		return voters, ids
	}

	// Leadership may move under load: whichever node leads acts, so the
	// logs and counters of every live node are read.
	dead := map[*proccluster.Node]bool{}
	logged := func(want ...string) bool {
		for _, n := range c.Nodes {
			log := c.Log(n)
			if dead[n] || !strings.Contains(log, want[0]) {
				continue
			}
			all := true
			for _, w := range want[1:] {
				all = all && strings.Contains(log, w)
			}
			if all {
				return true
			}
		}
		return false
	}
	removed := func() (total int) {
		for _, n := range c.Nodes {
			if dead[n] {
				continue
			}
			var v int
			for _, line := range strings.Split(scrape(t, c, metrics[n.Index]), "\n") {
				if _, err := fmt.Sscanf(line, "kappa_dead_servers_removed_total %d", &v); err == nil {
					total += v
				}
			}
		}
		return total
	}

	c.Kill(victims[0])
	dead[victims[0]] = true
	nodetest.Eventually(t, time.Minute, victims[0].ID+" removed", func() bool {
		v, ids := members()
		return v == 3 && !strings.Contains(ids, victims[0].ID+" ")
	})
	// The configuration shows the removal as soon as raft appends it; the
	// leader logs it (and counts it) once the change commits.
	deadline := time.Now().Add(10 * time.Second)
	for !logged(`msg="removed a dead server"`, " id="+victims[0].ID+" ") {
		if time.Now().After(deadline) {
			t.Fatalf("no node logged the removal of %s; the first leader's log:\n%s", victims[0].ID, c.Log(leader))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := removed(); got != 1 {
		t.Fatalf("kappa_dead_servers_removed_total adds up to %d over the live nodes, want 1", got)
	}

	c.Kill(victims[1])
	dead[victims[1]] = true
	nodetest.Eventually(t, time.Minute, "a leader holding "+victims[1].ID, func() bool {
		return logged("id="+victims[1].ID+" ", "the cluster would have 2 voters, fewer than --min-quorum 3")
	})
	if v, ids := members(); v != 3 || !strings.Contains(ids, victims[1].ID+" ") {
		t.Fatalf("voters after the second death: %d (%s), want 3 with %s", v, ids, victims[1].ID)
	}
	if got := removed(); got != 1 {
		t.Fatalf("the counter moved without a removal: it adds up to %d, want 1", got)
	}
}

// scrape reads a node's metrics as the cluster's admin.
func scrape(t *testing.T, c *proccluster.Cluster, addr string) string {
	t.Helper()
	base, client, err := c.NodeHTTP(addr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
