package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
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
	api := startServer(t, "--max-tasks-per-job", "2", "--max-queue-items-per-job", "5", "--max-running-per-job", "3", "--max-live-jobs", "4")
	waitClusterVersion(t, api, 2)
	r := kappa(t, "run", "--cluster", api, nodetest.WriteFile(t, "two.py", twoChildren))
	if r.code != 1 || !strings.Contains(r.stderr, "QuotaExceeded: quota exceeded: job j1 has 1 tasks and may have 2; spawning 2 more is refused") ||
		!strings.Contains(r.stderr, "`kappa server --max-tasks-per-job N`") {
		t.Fatalf("run over the task quota: exit %d\n%s", r.code, r.stderr)
	}
	r = kappa(t, "server", "--node-id", "n9", "--data-dir", t.TempDir(), "--bootstrap", "--max-live-jobs", "0")
	if r.code != 2 || !strings.Contains(r.stderr, "--max-live-jobs must be at least 1") {
		t.Fatalf("a quota of 0: exit %d\n%s", r.code, r.stderr)
	}
}

// waitClusterVersion waits until the cluster at api runs command version v.
func waitClusterVersion(t *testing.T, api string, v uint32) {
	t.Helper()
	c, err := kappaclient.New([]string{api})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nodetest.Eventually(t, 30*time.Second, "the cluster's command version", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := c.Status(ctx, api)
		return err == nil && st.GetClusterCommandVersion() >= v
	})
}
