package node

import (
	"context"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// waitVersion2 waits until the node's cluster runs command version 2 (the
// version watch raises it once every voter reports it).
func waitVersion2(t *testing.T, n *Node) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var v uint32
		n.replica.read(func(m *fsm.Machine) { v = m.ClusterVersion() })
		if v >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster still runs command version %d", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const manyTrivialTasks = `
from kappa import spawn_many, wait

def work():
    return 1

def handler(event, context):
    futures = []
    for _ in range(event["chunks"]):
        futures += spawn_many(work, (), copies=event["per_chunk"])
    return sum(wait(*futures))
`

const oneTask = `
def handler(event, context):
    return "small"
`

// A job that queued 20,000 tasks at a concurrency of two lambdas does not
// hold back a one-task job submitted after it: the small job's task gets
// one of the next free slots, and the small job finishes while the big one
// still has nearly all its tasks to run. (Launched in (job, task) order,
// the small job would wait for all 20,000.)
func TestASmallJobFinishesBesideATwentyThousandTaskJob(t *testing.T) {
	platform := localPlatform(t, 10*time.Second)
	n := testNode(t, platform, t.TempDir(), func(c *Config) {
		c.MaxInvocations = 2
		c.LambdaTimeout = 10 * time.Second
	})
	defer n.Close()
	waitVersion2(t, n)
	c := clientFor(t, n)
	const total = 20_000
	big := submitEvent(t, c, manyTrivialTasks, `{"chunks": 4, "per_chunk": 5000}`)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: big})
		if err != nil {
			t.Fatal(err)
		}
		if st.GetTasksTotal() == total+1 {
			break
		}
		if st.GetState() != wire.JobState_JOB_RUNNING || time.Now().After(deadline) {
			t.Fatalf("the big job did not spawn its tasks: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	small := submit(t, c, oneTask)
	st := awaitJob(t, c, small, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"small"` {
		t.Fatalf("the small job: %v", st)
	}
	bigSt, err := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: big})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("when the small job finished, the big one had run %d of its %d tasks", bigSt.GetTasksDone(), total)
	if bigSt.GetState() != wire.JobState_JOB_RUNNING || bigSt.GetTasksDone() > total/2 {
		t.Fatalf("the big job was not running beside it: %v", bigSt)
	}
	if _, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{ClientId: "test", RequestId: 1, JobId: big, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
}

const sleepyChildren = `
import time
from kappa import spawn_many, wait

def nap():
    time.sleep(0.3)
    return 1

def handler(event, context):
    return sum(wait(*spawn_many(nap, (), copies=6)))
`

// A job runs no more lambdas at once than max-running-per-job, though the
// leader has free slots: every applied change is checked.
func TestAJobRunsNoMoreLambdasThanItsQuota(t *testing.T) {
	n := testNode(t, localPlatform(t, 30*time.Second), t.TempDir(), func(c *Config) {
		c.MaxInvocations = 4
		c.Quotas.MaxRunningPerJob = 2
	})
	defer n.Close()
	waitVersion2(t, n)
	c := clientFor(t, n)
	job := submit(t, c, sleepyChildren)
	most := uint64(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			changed := n.replica.changed.wait()
			var running uint64
			var finished bool
			n.replica.read(func(m *fsm.Machine) {
				s := m.Job(job).GetTasksByState()
				running = s[pb.TaskState_TASK_LAUNCHED] + s[pb.TaskState_TASK_RUNNING] + s[pb.TaskState_TASK_BLOCKED]
				finished = m.Job(job).GetState() != pb.JobState_JOB_RUNNING
			})
			most = max(most, running)
			if finished {
				return
			}
			<-changed
		}
	}()
	st := awaitJob(t, c, job, time.Minute)
	<-done
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "6" {
		t.Fatalf("job: %v", st)
	}
	if most != 2 {
		t.Fatalf("at most %d of the job's tasks held a lambda at once, want the quota of 2", most)
	}
}
