package jepsen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// The checkers can fail: with a guarantee switched off on purpose, a short
// run under the faults that expose it must show the broken mechanism
// itself (not just any failed check: a timed-out search or a slow
// convergence would pass that), and the same schedule with the switch on
// (same seed, same faults, same workload) must come out clean.
type unsafeCase struct {
	fault string
	cfg   Config
	// shows says what in the report shows the switch's mechanism ("":
	// nothing does).
	shows func(*Report) string
}

func runUnsafePair(t *testing.T, u unsafeCase) {
	u.cfg.Nodes, u.cfg.Gap, u.cfg.Seed, u.cfg.Ordered = 3, 4*time.Second, seed(t), true
	if u.cfg.Duration == 0 {
		u.cfg.Duration = 30 * time.Second
	}
	t.Run("unsafe", func(t *testing.T) {
		cfg := u.cfg
		cfg.Unsafe = []string{u.fault}
		r := Run(t, cfg)
		t.Log("\n" + r.Text())
		for _, kind := range cfg.Kinds {
			if r.Faults[kind] == 0 {
				t.Errorf("%s: no %s fault fired, so the run shows nothing: %s", u.fault, kind, r.SummaryLine())
			}
		}
		if what := u.shows(r); what == "" {
			t.Errorf("%s: the checkers did not show its mechanism: %s", u.fault, r.SummaryLine())
		} else {
			t.Logf("%s shown: %s", u.fault, what)
		}
	})
	t.Run("safe", func(t *testing.T) {
		r := Run(t, u.cfg)
		t.Log("\n" + r.Text())
		if what := u.shows(r); what != "" {
			t.Errorf("without %s, the same schedule shows its mechanism: %s", u.fault, what)
		}
		if !r.OK() {
			t.Errorf("without %s, the same schedule is not clean: %s", u.fault, r.SummaryLine())
		}
	})
}

// Eager garbage collection deletes live checkpoints: a relaunched task
// finds the checkpoint its pointer names gone (KeyNotFoundError).
func TestUnsafeEagerGCLoses(t *testing.T) {
	runUnsafePair(t, unsafeCase{fault: "eager-gc",
		cfg: Config{Kinds: []string{nemesis.KillLambdas}, GCInterval: time.Second},
		shows: func(r *Report) string {
			if len(r.MissingCheckpoints) == 0 {
				return ""
			}
			return "tasks relaunched from deleted checkpoints " + strings.Join(r.MissingCheckpoints, ", ")
		}})
}

// Without fsync, a power loss of every node forgets entries the cluster
// had acknowledged: a job whose submit returned later does not exist or
// its id names another job, a job whose cancel returned is not cancelled,
// or later reads contradict earlier ones (the client operations' history
// is then proved not linearizable).
func TestUnsafeNoFsyncLoses(t *testing.T) {
	runUnsafePair(t, unsafeCase{fault: "no-fsync",
		// A submit or cancel is lost only when it was acknowledged in
		// about the last half second before a power loss, so most nodes
		// had not flushed it: 8 clients and 4-5 power losses make a run
		// without one rare.
		cfg: Config{Kinds: []string{nemesis.KillAll}, Clients: 8, Duration: 45 * time.Second},
		shows: func(r *Report) string {
			switch {
			case len(r.ForgottenJobs) > 0:
				return fmt.Sprintf("acknowledged submits or cancels forgotten, of jobs %v", r.ForgottenJobs)
			case slices.Contains(r.NotLinearizable, "client operations"):
				return "the client operations' history is proved not linearizable"
			}
			return ""
		}})
}

// Without dedup, a committed call whose response is lost and which the
// worker re-sends (KAPPA_TEST_RESEND_CALLS) is applied twice: an enqueue
// re-sent delivers its item twice.
func TestUnsafeNoDedupDuplicates(t *testing.T) {
	runUnsafePair(t, unsafeCase{fault: "no-dedup",
		cfg: Config{Kinds: []string{nemesis.KillLambdas}, ResendCalls: 0.2},
		shows: func(r *Report) string {
			if r.DeliveredTwice == 0 {
				return ""
			}
			return fmt.Sprintf("%d extra deliveries of queue items", r.DeliveredTwice)
		}})
}
