package main

import (
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

const twoChildren = `
from kappa import spawn_many, wait

def one():
    return 1

def handler(event, context):
    return sum(wait(*spawn_many(one, (), copies=2)))
`

// The quota flags reach the cluster: a job over max-tasks-per-job fails
// with the refusal its program did not handle, which names the quota and
// the flag; a quota of 0 is refused at start.
func TestServerQuotaFlags(t *testing.T) {
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: 1,
		ServerArgs: []string{"--log-level", "warn", "--max-tasks-per-job", "2", "--max-queue-items-per-job", "5",
			"--max-running-per-job", "3", "--max-live-jobs", "4", "--max-live-jobs-per-submitter", "4"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(5 * time.Second)
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	nodetest.Eventually(t, 30*time.Second, "command version 2", func() bool {
		st, err := c.Status(c.Nodes[0], time.Second)
		return err == nil && st.GetClusterCommandVersion() >= 2
	})
	r := kappa(t, "run", "--cluster", c.Nodes[0].APIAddr, nodetest.WriteFile(t, "two.py", twoChildren))
	if r.code != 1 || !strings.Contains(r.stderr, "QuotaExceeded: quota exceeded: job j1 has 1 tasks and may have 2; spawning 2 more is refused") ||
		!strings.Contains(r.stderr, "`kappa server --max-tasks-per-job N`") {
		t.Fatalf("run over the task quota: exit %d\n%s", r.code, r.stderr)
	}
	r = kappa(t, "server", "--node-id", "n9", "--data-dir", t.TempDir(), "--bootstrap", "--max-live-jobs", "0")
	if r.code != 2 || !strings.Contains(r.stderr, "--max-live-jobs must be at least 1") {
		t.Fatalf("a quota of 0: exit %d\n%s", r.code, r.stderr)
	}
}
