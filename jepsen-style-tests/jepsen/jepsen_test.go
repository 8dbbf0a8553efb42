package jepsen

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

func seed(t *testing.T) int64 {
	if s := os.Getenv("KAPPA_JEPSEN_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("KAPPA_JEPSEN_SEED=%q is not an integer", s)
		}
		return v
	}
	return time.Now().UnixNano() % 1_000_000
}

func finish(t *testing.T, r *Report) {
	t.Helper()
	if dir := os.Getenv("KAPPA_JEPSEN_REPORT"); dir != "" {
		if err := r.Write(dir); err != nil {
			t.Error(err)
		}
	}
	t.Log("\n" + r.Text())
	if !r.OK() {
		t.Errorf("the checkers found problems: %s", r.SummaryLine())
	}
}

// The CI smoke: 3 nodes, lambda kills, leader and random-node kills, one
// majority/minority partition, one leader pause — then heal and check.
func TestSmoke(t *testing.T) {
	r := Run(t, Config{Nodes: 3, Duration: 75 * time.Second, Gap: 6 * time.Second, Seed: seed(t), Ordered: true,
		Kinds: []string{nemesis.KillLambdas, nemesis.KillLeader, nemesis.PartitionMajority, nemesis.PauseLeader, nemesis.KillRandom},
		// Workers re-send some committed calls (lost responses): dedup must
		// answer them from the stored response (TestUnsafeNoDedupDuplicates
		// shows what they do without it).
		ResendCalls: 0.1})
	finish(t, r)
}

// Leaders paused and resumed, again and again, with calls queued: a
// resumed leader must not append once a newer term reached it (its
// entries would carry that term and pass for the new leader's, and its
// state would diverge). Eight clients keep calls queued at each pause:
// before the heartbeat shortcut was narrowed, this run ended with a
// diverged replica one time in four (with the default two clients, never
// in seven).
func TestPausedLeadersResume(t *testing.T) {
	r := Run(t, Config{Nodes: 3, Duration: 45 * time.Second, Gap: 3 * time.Second, Seed: seed(t), Ordered: true,
		Kinds: []string{nemesis.PauseLeader}, Clients: 8, ResendCalls: 0.1})
	finish(t, r)
}

// The proxy fallback, forced: partitions and delay through the TCP proxy.
func TestProxyFallback(t *testing.T) {
	r := Run(t, Config{Nodes: 3, Duration: 30 * time.Second, Gap: 4 * time.Second, Seed: seed(t), Ordered: true, Net: "proxy",
		Kinds: []string{nemesis.PartitionLeader, nemesis.SlowNet, nemesis.OneWay}})
	if r.Network != "proxy" {
		t.Errorf("the run went through %s", r.Network)
	}
	finish(t, r)
}

// A run that did no work proves nothing, however clean its checks: with no
// workload, lambda kills and stops find no worker inside an invocation, and
// the report must say that the faults hit nothing and the work never
// happened.
func TestIdleRunIsNotClean(t *testing.T) {
	r := Run(t, Config{Nodes: 3, Duration: 12 * time.Second, Gap: time.Second, Seed: seed(t), Ordered: true, Idle: true,
		Kinds: []string{nemesis.KillLambdas, nemesis.PauseLambdas}})
	t.Log("\n" + r.Text())
	if r.OK() {
		t.Errorf("an idle run is clean: %s", r.SummaryLine())
	}
	problems := strings.Join(r.Problems, "\n")
	for _, want := range []string{
		"kill-lambdas at 0s hit nothing: no worker was inside an invocation to kill",
		"pause-lambdas at", "hit nothing: no worker inside an invocation stopped",
		"no fault fired (of kill-lambdas, pause-lambdas)",
		"no pipeline op with outcome succeeded", "no submit op with outcome ok",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("the problems do not say %q:\n%s", want, problems)
		}
	}
}

// The long run (make jepsen): every fault kind at random for DURATION.
func TestLong(t *testing.T) {
	if os.Getenv("KAPPA_JEPSEN_LONG") == "" {
		t.Skip("the long run is for `make jepsen DURATION=10m NODES=5` (KAPPA_JEPSEN_LONG=1)")
	}
	d, err := time.ParseDuration(envOr("KAPPA_JEPSEN_DURATION", "10m"))
	if err != nil {
		t.Fatalf("DURATION: %v", err)
	}
	nodes, err := strconv.Atoi(envOr("KAPPA_JEPSEN_NODES", "5"))
	if err != nil || nodes < 3 {
		t.Fatalf("NODES must be a number ≥ 3, got %q", os.Getenv("KAPPA_JEPSEN_NODES"))
	}
	kinds := nemesis.All
	if k := os.Getenv("KAPPA_JEPSEN_FAULTS"); k != "" {
		kinds = strings.Split(k, ",")
	}
	r := Run(t, Config{Nodes: nodes, Duration: d, Gap: 8 * time.Second, Seed: seed(t), Kinds: kinds})
	finish(t, r)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
