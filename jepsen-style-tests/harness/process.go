package harness

import (
	"os/exec"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// Kill SIGKILLs a node.
func (c *Cluster) Kill(n *Node) { c.procs.Kill(n) }

// Restart starts a killed node again from its data dir (it rejoins by
// itself: a node with Raft state needs no --join).
func (c *Cluster) Restart(n *Node) {
	c.t.Helper()
	if err := c.procs.Restart(n); err != nil {
		c.t.Fatalf("restarting %s: %v", n.ID, err)
	}
}

// Pause freezes a node (SIGSTOP); Resume continues it (SIGCONT).
func (c *Cluster) Pause(n *Node) {
	if err := c.procs.Pause(n); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) Resume(n *Node) {
	if err := c.procs.Resume(n); err != nil {
		c.t.Fatal(err)
	}
}

// Wipe kills a node and deletes its data dir; Restart then makes it join
// again as a new, empty member (it catches up by snapshot).
func (c *Cluster) Wipe(n *Node) {
	c.t.Helper()
	if err := c.procs.Wipe(n); err != nil {
		c.t.Fatal(err)
	}
}

// StartAlone starts a node as a cluster of its own with the given flags
// (--force-new-cluster, --restore FILE) in place of --bootstrap or --join.
func (c *Cluster) StartAlone(n *Node, flags ...string) {
	c.t.Helper()
	if err := c.procs.StartAlone(n, flags...); err != nil {
		c.t.Fatalf("starting %s alone: %v", n.ID, err)
	}
}

// Log returns a node's log so far (for assertions and post-mortems).
func (c *Cluster) Log(n *Node) string { return c.procs.Log(n) }

// RunKappa runs the kappa binary to its end (or kills it after limit) and
// returns its combined output and exit code (-1 if it had to be killed).
func RunKappa(t testing.TB, limit time.Duration, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(nodetest.KappaBinary(t), args...)
	out := &nodetest.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return out.String(), cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return out.String(), -1
	}
}

// FreeAddr picks a free port on ip (for processes a test starts itself).
func FreeAddr(t testing.TB, ip string) string { return freeAddr(t, ip) }
