package jepsen

import (
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// The checkers can fail: with a guarantee switched off on purpose, a short
// run under the faults that expose it must report the damage.
func runUnsafe(t *testing.T, fault string, kinds ...string) *Report {
	return runUnsafeWith(t, Config{Kinds: kinds, Unsafe: []string{fault}})
}

func runUnsafeWith(t *testing.T, cfg Config) *Report {
	cfg.Nodes, cfg.Duration, cfg.Gap, cfg.Seed, cfg.Ordered = 3, 30*time.Second, 4*time.Second, seed(t), true
	r := Run(t, cfg)
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

// Without dedup, a committed call whose response is lost and which the
// worker re-sends (KAPPA_TEST_RESEND_CALLS) is applied twice: an enqueue
// delivers its item twice, a dequeue swallows one.
func TestUnsafeNoDedupDuplicates(t *testing.T) {
	r := runUnsafeWith(t, Config{Kinds: []string{nemesis.KillLambdas}, Unsafe: []string{"no-dedup"}, ResendCalls: 0.2})
	if r.Duplicated == 0 && r.Lost == 0 {
		t.Errorf("no-dedup with re-sent calls: the checkers reported no duplicate and no loss: %s", r.SummaryLine())
	}
}
