// Package failover proves the replicated coordinator's promise: a job keeps
// going, with every task RPC applied exactly once, while nodes are killed,
// paused, restarted and wiped. Every test runs real `kappa server`
// processes, a separate `kappa lambda-local`, and real Python workers.
package failover

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// The workload: a root task spawns `tasks` children; each child sleeps
// through several one-second lambdas (checkpointing as it goes, so it
// crosses epochs) and returns a value derived from its index.
const program = `
import time
from kappa import checkpoint, spawn, wait

def child(i, steps):
    acc = i
    for s in range(steps):
        time.sleep(0.15)
        acc = (acc * 31 + s) % 1000003
        checkpoint()
    return acc

def handler(event, context):
    futures = []
    for i in range(event["tasks"]):
        futures.append(spawn(child, (i, event["steps"])))
    return sum(wait(*futures))
`

func expected(tasks, steps int) string {
	total := 0
	for i := 0; i < tasks; i++ {
		acc := i
		for s := 0; s < steps; s++ {
			acc = (acc*31 + s) % 1000003
		}
		total += acc
	}
	return strconv.Itoa(total)
}

const tasks, steps = 50, 12

type run struct {
	t       *testing.T
	c       *harness.Cluster
	client  *kappaclient.Client
	job     uint64
	want    string
	started time.Time
}

// startJob starts a cluster and submits the workload. pinned: every
// client and every task talks to one follower only.
func startJob(t *testing.T, pinned bool, extra ...string) *run {
	return startJobOn(t, 3, pinned, extra...)
}

func startJobOn(t *testing.T, nodes int, pinned bool, extra ...string) *run {
	t.Helper()
	opts := harness.Options{Nodes: nodes, LambdaTimeout: time.Second, Concurrency: 24, ExtraServerArgs: extra}
	if pinned {
		// n1 bootstraps and leads at first; n2 starts as a follower.
		opts.PinWorkers = 2
	}
	c := harness.Start(t, opts)
	client := c.Client()
	if pinned {
		client = c.PinnedClient(c.Pinned())
	}
	bundle := nodetest.BundleOf(t, program)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := client.Submit(ctx, bundle, []byte(fmt.Sprintf(`{"tasks": %d, "steps": %d}`, tasks, steps)), "failover", 0)
	if err != nil {
		t.Fatal(err)
	}
	return &run{t: t, c: c, client: client, job: sub.GetJobId(), want: expected(tasks, steps), started: time.Now()}
}

// progress waits until at least n tasks finished, so faults hit mid-job.
func (r *run) progress(n uint64) {
	r.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := r.client.Job(ctx, r.job, true)
		cancel()
		if err == nil && st.GetTasksDone() >= n {
			return
		}
		if err == nil && st.GetState() != wire.JobState_JOB_RUNNING {
			r.t.Fatalf("the job ended before the fault: %v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("the job made no progress to %d done tasks", n)
}

// finish waits for the job and checks everything the issue asks: the right
// result, every task done, every RPC applied once, replicas equal.
func (r *run) finish() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := r.client.Watch(ctx, r.job, func(*wire.JobStatus) {})
	if err != nil {
		r.t.Fatalf("watching the job: %v (last %v)", err, st)
	}
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != r.want {
		r.t.Fatalf("job %v, want result %s", st, r.want)
	}
	if st.GetTasksDone() != tasks+1 || st.GetTasksFailed() != 0 {
		r.t.Fatalf("tasks: %d done, %d failed; want %d done", st.GetTasksDone(), st.GetTasksFailed(), tasks+1)
	}
	r.t.Logf("job done in %s: %d launches, %d relaunches, max epoch %d, %d calls",
		time.Since(r.started).Round(time.Millisecond), st.GetLaunches(), st.GetRelaunches(), st.GetMaxEpoch(), st.GetRpcs())
	audit, err := r.client.Audit(ctx, r.job)
	if err != nil {
		r.t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(audit); len(problems) > 0 {
		r.t.Fatalf("audit: %s", strings.Join(problems, "; "))
	}
	r.c.Converged(time.Minute)
}

func testLeaderKilled(t *testing.T, nodes int, pinned bool) {
	r := startJobOn(t, nodes, pinned)
	r.progress(5)
	leader := r.c.WaitLeader(30 * time.Second)
	r.c.Kill(leader)
	t.Logf("killed leader %s", leader.ID)
	r.c.WaitLeader(30 * time.Second)
	r.progress(20)
	r.c.Restart(leader)
	r.finish()
}

func testLeaderPaused(t *testing.T, pinned bool) {
	r := startJob(t, pinned)
	r.progress(5)
	leader := r.c.WaitLeader(30 * time.Second)
	r.c.Pause(leader)
	t.Logf("paused leader %s", leader.ID)
	time.Sleep(5 * time.Second)
	r.c.Resume(leader)
	r.finish()
}

func testFullRestart(t *testing.T, pinned bool) {
	r := startJob(t, pinned)
	r.progress(5)
	for _, n := range r.c.Nodes {
		r.c.Kill(n)
	}
	t.Log("killed every node")
	time.Sleep(time.Second)
	for _, n := range r.c.Nodes {
		r.c.Restart(n)
	}
	r.c.WaitLeader(60 * time.Second)
	r.finish()
}

func testFollowerWipedRejoinsBySnapshot(t *testing.T, pinned bool) {
	r := startJob(t, pinned, "--snapshot-threshold", "64", "--trailing-logs", "16", "--snapshot-interval", "500ms")
	r.progress(5)
	leader := r.c.WaitLeader(30 * time.Second)
	var follower *harness.Node
	for i := len(r.c.Nodes) - 1; i >= 0; i-- {
		if n := r.c.Nodes[i]; n != leader {
			follower = n
			break
		}
	}
	if pinned && r.c.Pinned() >= 0 && follower == r.c.Nodes[r.c.Pinned()] {
		for _, n := range r.c.Nodes {
			if n != leader && n != follower {
				follower = n
			}
		}
	}
	r.c.Wipe(follower)
	t.Logf("wiped follower %s", follower.ID)
	r.progress(25)
	r.c.Restart(follower)
	r.finish()
	if log := r.c.Log(follower); !strings.Contains(log, "Installed remote snapshot") {
		var lines []string
		for _, l := range strings.Split(log, "\n") {
			if strings.Contains(strings.ToLower(l), "snapshot") || strings.Contains(l, "====") {
				lines = append(lines, l)
			}
		}
		t.Fatalf("the wiped follower %s did not catch up by InstallSnapshot; its snapshot lines:\n%s", follower.ID, strings.Join(lines, "\n"))
	}
}

func TestLeaderKilledMidJob(t *testing.T)       { testLeaderKilled(t, 3, false) }
func TestFiveNodesLeaderKilled(t *testing.T)    { testLeaderKilled(t, 5, false) }
func TestLeaderPausedFiveSeconds(t *testing.T)  { testLeaderPaused(t, false) }
func TestAllNodesRestarted(t *testing.T)        { testFullRestart(t, false) }
func TestFollowerWipedRejoins(t *testing.T)     { testFollowerWipedRejoinsBySnapshot(t, false) }
func TestPinnedLeaderKilledMidJob(t *testing.T) { testLeaderKilled(t, 3, true) }
func TestPinnedLeaderPaused(t *testing.T)       { testLeaderPaused(t, true) }
func TestPinnedAllNodesRestarted(t *testing.T)  { testFullRestart(t, true) }
func TestPinnedFollowerWiped(t *testing.T)      { testFollowerWipedRejoinsBySnapshot(t, true) }
