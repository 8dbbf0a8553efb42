// Package effects proves Kappa's promises about concurrency and effects
// under faults, with real processes: `kappa server` nodes, a separate
// `kappa lambda-local` whose Python workers are SIGKILLed at random, and
// (on three nodes) the leader SIGKILLed too. Every queue item must be
// delivered exactly once and in order per producer, every spawn tree must
// give the right result, and every external call's effect must be applied
// exactly once by a receiver that de-duplicates by idempotency key, which
// reports, per key, the attempts (≥ 1) and the applied effects (= 1).
package effects

import (
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

var event = workloadEvent{Items: 24, EffectTasks: 4, EffectsPerTask: 6}

// maxLaunches is generous: random kills may hit one task several times
// before it checkpoints again.
const maxLaunches = 30

type faults struct {
	killLambdas bool
	killLeader  int // leader SIGKILLs (three-node clusters)
}

func runWorkload(t *testing.T, opts harness.Options, f faults) {
	c := harness.Start(t, opts)
	svc := harness.NewReceiver(t, 300*time.Millisecond)
	ev := event
	ev.Service = svc.URL()
	started := time.Now()
	job := c.Submit(workload, ev.JSON(), "effects", maxLaunches)
	var stopKills func() harness.LambdaKills
	if f.killLambdas {
		time.Sleep(time.Second) // let the root spawn its children first
		stopKills = c.KillLambdasEvery(300*time.Millisecond, 900*time.Millisecond, time.Now().UnixNano())
	}
	for i := 0; i < f.killLeader; i++ {
		time.Sleep(4 * time.Second)
		killLeader(t, c)
	}
	st := c.WaitJob(job, 4*time.Minute)
	var kills harness.LambdaKills
	if stopKills != nil {
		kills = stopKills()
	}
	t.Logf("job %s in %s: %d lambda workers killed inside an invocation, %d invocations crashed, %d leader kills; %d launches, %d relaunches, max epoch %d, %d calls",
		st.GetState(), time.Since(started).Round(time.Millisecond), kills.Killed, kills.Crashed, f.killLeader, st.GetLaunches(), st.GetRelaunches(), st.GetMaxEpoch(), st.GetRpcs())
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job failed: %s", st.GetError())
	}
	if f.killLambdas {
		lambdaKillsHit(t, kills, st)
	}
	checkWorkload(t, st.GetResultJson(), ev)
	svc.Check(t, ev.EffectTasks*ev.EffectsPerTask)
	audit(t, c, job)
}

// killLeader SIGKILLs the leader, checks that it died and another node
// took over, and restarts it.
func killLeader(t *testing.T, c *harness.Cluster) *harness.Node {
	t.Helper()
	leader := c.WaitLeader(30 * time.Second)
	c.Kill(leader)
	if leader.Running() {
		t.Fatalf("leader %s survived SIGKILL", leader.ID)
	}
	next := c.WaitLeader(30 * time.Second)
	t.Logf("killed leader %s; %s took over", leader.ID, next.ID)
	c.Restart(leader)
	return leader
}

// lambdaKillsHit fails the test unless the lambda kills really crashed
// invocations, which the job then relaunched: a run whose kills hit only
// finished workers proves nothing about faults.
func lambdaKillsHit(t *testing.T, k harness.LambdaKills, st *wire.JobStatus) {
	t.Helper()
	if k.Killed == 0 || k.Crashed == 0 || st.GetRelaunches() == 0 {
		t.Fatalf("the lambda kills hit nothing: %d workers killed inside an invocation, %d invocations crashed, %d relaunches", k.Killed, k.Crashed, st.GetRelaunches())
	}
}

func audit(t *testing.T, c *harness.Cluster, job uint64) {
	t.Helper()
	a, err := c.Client().Audit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(a); len(problems) > 0 {
		t.Fatalf("audit: %s", strings.Join(problems, "; "))
	}
}

func TestOneNodeLambdaKills(t *testing.T) {
	runWorkload(t, harness.Options{Nodes: 1, LambdaTimeout: 2 * time.Second}, faults{killLambdas: true})
}

func TestThreeNodesLeaderAndLambdaKills(t *testing.T) {
	runWorkload(t, harness.Options{Nodes: 3, LambdaTimeout: 2 * time.Second}, faults{killLambdas: true, killLeader: 2})
}
