package jepsen

import (
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// The checkers can fail: with a guarantee switched off on purpose, a short
// run under the faults that expose it must report the damage.
func runUnsafe(t *testing.T, fault string, kinds ...string) *Report {
	r := Run(t, Config{Nodes: 3, Duration: 30 * time.Second, Gap: 4 * time.Second, Seed: seed(t), Ordered: true,
		Kinds: kinds, Unsafe: []string{fault}})
	t.Log("\n" + r.Text())
	return r
}

// Eager garbage collection deletes live checkpoints: relaunched tasks find
// their pointer's key gone, jobs fail, their work is lost.
func TestUnsafeEagerGCLoses(t *testing.T) {
	r := runUnsafe(t, "eager-gc", nemesis.KillLambdas)
	if r.Lost == 0 {
		t.Errorf("eager-gc: the checkers reported no loss: %s", r.SummaryLine())
	}
}

// Without fsync, a power loss of every node forgets entries the cluster
// had acknowledged: submitted jobs vanish or run again.
func TestUnsafeNoFsyncLoses(t *testing.T) {
	r := runUnsafe(t, "no-fsync", nemesis.KillAll, nemesis.KillAll, nemesis.KillAll)
	if r.OK() {
		t.Errorf("no-fsync: the checkers found nothing: %s", r.SummaryLine())
	}
}

// Without de-duplication, a task call whose reply was lost (the leader's
// packets to the lambdas dropped for longer than a worker's call timeout)
// and that the worker re-sends through another node is applied twice.
func TestUnsafeNoDedupDuplicates(t *testing.T) {
	if harness.NetworkKind() != "netns" {
		t.Skip("cutting the leader from the lambdas needs network namespaces")
	}
	r := runUnsafe(t, "no-dedup", nemesis.PartitionClients)
	if r.Duplicated == 0 && r.Linearizable {
		t.Errorf("no-dedup: the checkers reported no duplicate: %s", r.SummaryLine())
	}
}
