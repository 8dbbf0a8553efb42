package effects

import (
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// The same workload with every checkpoint in a real redis-server: lambda
// SIGKILLs, a leader SIGKILL, and Redis itself down for longer than the
// workers' retry window. Workers retry, give up their invocation with a
// clear error, are relaunched from their last checkpoint once Redis is
// back, and nothing is lost.
func TestRedisStoreUnderFaults(t *testing.T) {
	redis := harness.StartRedis(t)
	if s, err := checkpoint.Open(redis.URL()); err != nil {
		t.Fatalf("the Go checkpoint store does not open the test's Redis %s: %v", redis.URL(), err)
	} else {
		s.Close()
	}
	// Inherited by lambda-local and its workers: a short retry window, so
	// the outage below outlasts it.
	t.Setenv("KAPPA_STORE_RETRY_S", "0.5")
	c := harness.Start(t, harness.Options{Nodes: 3, LambdaTimeout: 2 * time.Second, Store: redis.URL()})
	svc := harness.NewReceiver(t, 300*time.Millisecond)
	ev := event
	ev.Service = svc.URL()
	started := time.Now()
	job := c.Submit(workload, ev.JSON(), "effects-redis", maxLaunches)
	time.Sleep(time.Second)
	stopKills := c.KillLambdasEvery(300*time.Millisecond, 900*time.Millisecond, time.Now().UnixNano())

	time.Sleep(3 * time.Second)
	leader := killLeader(t, c)

	// Redis stays down until an invocation has given up on it and its
	// leader logged why: the invocations the killed leader started end
	// unheard, so how long that takes depends on the relaunches.
	redis.Kill()
	down := time.Now()
	outage := waitLog(t, c, "unreachable for", time.Minute)
	downFor := time.Since(down)
	redis.Restart()

	st := c.WaitJob(job, 4*time.Minute)
	kills := stopKills()
	t.Logf("job %s in %s: %d lambda workers killed inside an invocation, %d invocations crashed, leader %s killed, Redis down %s; %d launches, %d relaunches, max epoch %d, %d calls",
		st.GetState(), time.Since(started).Round(time.Millisecond), kills.Killed, kills.Crashed, leader.ID, downFor.Round(time.Millisecond),
		st.GetLaunches(), st.GetRelaunches(), st.GetMaxEpoch(), st.GetRpcs())
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job failed: %s", st.GetError())
	}
	lambdaKillsHit(t, kills, st)
	checkWorkload(t, st.GetResultJson(), ev)
	svc.Check(t, ev.EffectTasks*ev.EffectsPerTask)
	audit(t, c, job)

	// The workers that met the outage said so clearly (the leader logs how
	// each invocation ended).
	if !strings.Contains(outage, "checkpoint store: Redis at redis://127.0.0.1:") {
		t.Errorf("no clear store error in the nodes' logs; the line: %q", outage)
	} else {
		t.Logf("an invocation during the outage: %s", outage)
	}
	// And the checkpoints really are in Redis.
	s, err := checkpoint.Open(redis.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys, err := s.List(t.Context(), checkpoint.JobPrefix(job))
	if err != nil || len(keys) == 0 {
		t.Fatalf("no keys of the job in Redis: %v", err)
	}
	t.Logf("%d keys of the job in Redis", len(keys))
}

// waitLog waits until some node's log has a line containing part and
// returns that line.
func waitLog(t *testing.T, c *harness.Cluster, part string, limit time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, n := range c.Nodes {
			if line := lineWith(c.Log(n), part); line != "" {
				return line
			}
		}
	}
	t.Fatalf("no node logged %q within %s", part, limit)
	return ""
}
