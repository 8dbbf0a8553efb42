package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// startNodes starts a secure cluster of nodes servers with args (no
// --log-level on their command line: a SIGHUP may change it) and lets
// this test's kappa commands reach it as its admin.
func startNodes(t *testing.T, nodes int, args ...string) *proccluster.Cluster {
	t.Helper()
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: nodes, ServerArgs: args})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(5 * time.Second) })
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	return c
}

// waitLog waits until n's log, after offset from, holds want.
func waitLog(t *testing.T, c *proccluster.Cluster, n *proccluster.Node, from int, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.Log(n)[from:], want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s's log does not say %q:\n%s", n.ID, want, c.Log(n)[from:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SIGHUP re-reads --config: the log level changes at once, a setting
// that needs a restart is named as such, a broken file changes nothing,
// and the server never exits and keeps serving jobs.
func TestSIGHUPReloadsTheConfigAndKeepsServing(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "kappa.yaml")
	write := func(text string) {
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("log-level: info\ngc-interval: 30s\n")
	c := startNodes(t, 1, "--config", cfg)
	n := c.Nodes[0]
	hup := func(want ...string) {
		t.Helper()
		from := len(c.Log(n))
		if err := c.Reload(n); err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			waitLog(t, c, n, from, w)
		}
		if !n.Running() {
			t.Fatalf("the server exited on SIGHUP:\n%s", c.Log(n)[from:])
		}
	}
	hup("configuration reloaded: nothing changed")
	write("log-level: debug\ngc-interval: 1m\n")
	hup(`setting reloaded" signal=SIGHUP setting=log-level from=info to=debug`,
		`takes effect at the next restart" signal=SIGHUP setting=gc-interval running=30s file=1m0s`)
	write("log-level: [not, a, level\n")
	hup("reload failed; the running settings stay")
	write("log-level: loud\n")
	hup(`setting not reloaded" signal=SIGHUP setting=log-level err="log-level \"loud\"`)
	// The debug level took effect: raft's own debug lines now appear.
	from := len(c.Log(n))
	if r := kappa(t, "run", "--cluster", n.APIAddr, example("fib.py"), "--event", `{"n": 6}`); r.code != 0 || strings.TrimSpace(r.stdout) != "8" {
		t.Fatalf("run after the reloads: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	waitLog(t, c, n, from, "level=DEBUG")
}

// drain moves leadership off a node and keeps it off: given leadership
// back by a transfer, it hands it on by itself; the last voter that is not
// drained cannot be drained; undrain lets it lead again. A SIGHUP without
// --config is logged and changes nothing.
func TestDrainKeepsLeadershipAway(t *testing.T) {
	c := startNodes(t, 3)
	cluster := strings.Join(c.Addrs(), ",")
	// A new cluster moves to this build's command version once every voter
	// reported it (drain needs version 2).
	waitVersions(t, c, fsm.CommandVersion, fsm.CommandVersion)
	run := func(args ...string) result {
		t.Helper()
		return kappa(t, append(args, "--cluster", cluster)...)
	}
	if r := run("cluster", "drain", "n9"); r.code == 0 || !strings.Contains(r.stderr, `node "n9" is not a member`) {
		t.Fatalf("draining an unknown node: %+v", r)
	}
	drained, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	from := len(c.Log(drained))
	r := run("cluster", "drain", drained.ID)
	if r.code != 0 || !strings.Contains(r.stdout, "node "+drained.ID+" drained; leader is n") || strings.Contains(r.stdout, "leader is "+drained.ID) {
		t.Fatalf("drain of the leader: %+v", r)
	}
	waitLog(t, c, drained, from, "handed leadership over (drained)")
	if r := run("cluster", "members"); r.code != 0 || strings.Count(r.stdout, "(drained)") != 1 || !strings.Contains(r.stdout, "VERSION") {
		t.Fatalf("members should show one drained node and each node's version: %+v", r)
	}
	// Leadership given back to the drained node goes away again at once.
	from = len(c.Log(drained))
	// The command answers once leadership has landed on a node that is
	// not drained, and says why it is not the one named.
	if r := run("cluster", "transfer-leader", "--to", drained.ID); r.code != 0 || strings.Contains(r.stdout, "leader is now "+drained.ID) ||
		!strings.Contains(r.stdout, drained.ID+" is drained and handed leadership on") {
		t.Fatalf("transfer to the drained node: %+v", r)
	}
	waitLog(t, c, drained, from, "handed leadership over (drained)")
	nodetest.Eventually(t, 10*time.Second, "a leader other than the drained node", func() bool {
		l := c.Leader()
		return l != nil && l != drained
	})
	var others []*proccluster.Node
	for _, n := range c.Nodes {
		if n != drained {
			others = append(others, n)
		}
	}
	// A transfer that names no node never picks the drained one.
	for range 2 {
		leader := c.Leader()
		next := others[0]
		if leader == next {
			next = others[1]
		}
		if r := run("cluster", "transfer-leader"); r.code != 0 || !strings.Contains(r.stdout, "leader is now "+next.ID) {
			t.Fatalf("transfer-leader from %v with %s drained: %+v, want %s", leader, drained.ID, r, next.ID)
		}
	}
	if r := run("cluster", "drain", others[0].ID); r.code != 0 {
		t.Fatalf("draining a second node: %+v", r)
	}
	if r := run("cluster", "drain", others[1].ID); r.code == 0 || !strings.Contains(r.stderr, "no other voter that is not drained could lead") {
		t.Fatalf("draining the last node that may lead: %+v", r)
	}
	if l := c.Leader(); l != others[1] {
		t.Fatalf("with %s and %s drained the leader is %v, want %s", drained.ID, others[0].ID, l, others[1].ID)
	}
	for _, n := range []*proccluster.Node{others[0], drained} {
		if r := run("cluster", "undrain", n.ID); r.code != 0 || !strings.Contains(r.stdout, "undrained") {
			t.Fatalf("undrain %s: %+v", n.ID, r)
		}
	}
	if r := run("cluster", "members"); r.code != 0 || strings.Contains(r.stdout, "(drained)") {
		t.Fatalf("members after undrain: %+v", r)
	}
	from = len(c.Log(drained))
	if r := run("cluster", "transfer-leader", "--to", drained.ID); r.code != 0 || !strings.Contains(r.stdout, "leader is now "+drained.ID) {
		t.Fatalf("transfer to the undrained node: %+v", r)
	}
	// It keeps leadership: a drained leader would hand it on within
	// milliseconds, so a SIGHUP round trip later it is still leader.
	if err := c.Reload(drained); err != nil {
		t.Fatal(err)
	}
	waitLog(t, c, drained, from, "nothing to reload: no --config file")
	if l := c.Leader(); l != drained || strings.Contains(c.Log(drained)[from:], "handed leadership") {
		t.Fatalf("the undrained node %s did not keep leadership (leader %v):\n%s", drained.ID, l, c.Log(drained)[from:])
	}
}
