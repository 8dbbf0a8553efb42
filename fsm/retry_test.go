package fsm

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func retry(job uint64) *pb.Command {
	return &pb.Command{Op: &pb.Command_RetryJob{RetryJob: &pb.RetryJob{JobId: job, Reason: "by ops"}}}
}

func (l *log) state(job, task uint64) pb.TaskState { return l.task(job, task).GetState() }

// A root waits for a child whose dependency is down: the child fails
// after a checkpoint, the root's wait gets the failure and the root fails
// too. Retried, the child resumes from its checkpoint, the root waits for
// it again, and the job succeeds; every call is applied once and seqs keep
// rising.
func TestRetryResumesFailedTasksAndReArmsTheirWaiters(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	root.call(&pb.Wait{Futures: []uint64{2}})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	child, _ := l.start(job, 2, 1)
	child.call(&pb.Checkpoint{}) // seq 1, the pointer
	child.fail("ConnectionError: the service is down")
	if l.state(job, RootTask) != pb.TaskState_TASK_RUNNABLE {
		t.Fatalf("the root should be woken with the failure, is %v", l.state(job, RootTask))
	}
	root, g := l.start(job, RootTask, 2)
	if !g.GetLastResponse().GetResolved().GetResults()[0].GetFailed() {
		t.Fatalf("the root's wait should have failed: %v", g.GetLastResponse())
	}
	root.fail("Traceback (most recent call last):\nTaskFailed: t2 failed")
	if j := l.m.Job(job); j.GetState() != pb.JobState_JOB_FAILED {
		t.Fatalf("job %v", j)
	}

	ids := l.ok(retry(job)).GetRetried().GetTaskIds()
	if fmt.Sprint(ids) != "[1 2]" {
		t.Fatalf("retried %v", ids)
	}
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_RUNNING || j.GetError() != "" || j.GetRetries() != 1 || j.GetFinishedUnixMs() != 0 {
		t.Fatalf("job after retry %v", j)
	}
	if l.state(job, RootTask) != pb.TaskState_TASK_PARKED || l.state(job, 2) != pb.TaskState_TASK_RUNNABLE {
		t.Fatalf("root %v, child %v; want parked, runnable", l.state(job, RootTask), l.state(job, 2))
	}
	if got := l.m.Runnable(); len(got) != 1 || got[0] != (TaskKey{job, 2}) {
		t.Fatalf("runnable %v", got)
	}

	// The child resumes from its checkpoint (seq 1) with that call's
	// response; its next call is 3, after the Fail it made at 2.
	child, g = l.start(job, 2, 2)
	if g.GetSeq() != 2 || g.GetCheckpointSeq() != 1 || g.GetCheckpointKey() != "j1/t2/e1-s1" || !g.GetLastResponse().GetAck() {
		t.Fatalf("child grant %v", g)
	}
	child.call(&pb.Checkpoint{})
	if cs := l.task(job, 2).GetCheckpointSeq(); cs != 0 {
		t.Fatalf("a new pointer must clear checkpoint_seq, still %d", cs)
	}
	child.exit("42")
	if l.state(job, RootTask) != pb.TaskState_TASK_RUNNABLE {
		t.Fatalf("the root should be woken by the child, is %v", l.state(job, RootTask))
	}
	root, g = l.start(job, RootTask, 3)
	res := g.GetLastResponse().GetResolved().GetResults()
	if g.GetSeq() != 3 || g.GetCheckpointSeq() != 2 || len(res) != 1 || res[0].GetFailed() || string(res[0].GetValue().GetInline()) != "42" {
		t.Fatalf("root grant %v", g)
	}
	root.exit("42")
	if j := l.m.Job(job); j.GetState() != pb.JobState_JOB_SUCCEEDED || j.GetResultJson() != "42" {
		t.Fatalf("job %v", j)
	}
	for _, task := range []uint64{RootTask, 2} {
		tk := l.task(job, task)
		for i, a := range tk.GetAudit() {
			if a.GetSeq() != uint64(i+1) {
				t.Fatalf("t%d audit %v: seqs must rise without a gap or a double", task, tk.GetAudit())
			}
		}
	}
	if got := story(l, job); !strings.Contains(got, "JOB_FAILED RETRIED LAUNCHED/t2:RETRY") {
		t.Fatalf("history %s", got)
	}
}

// A child that awaited a failed future never started: after the retry it
// is pending on that future again, and starts once it succeeds.
func TestRetryMakesAwaitingChildrenPendingAgain(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("a")}}})
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("b"), Awaits: []uint64{2}}}})
	root.call(&pb.Wait{Futures: []uint64{3}})
	first, _ := l.start(job, 2, 1)
	first.fail("boom")
	if l.state(job, 3) != pb.TaskState_TASK_FAILED || !strings.Contains(l.task(job, 3).GetError(), "awaited future t2 failed") {
		t.Fatalf("t3: %v", l.task(job, 3))
	}
	// The root, polling in its wait, gets t3's failure and fails.
	root.fail("t3 failed")

	l.ok(retry(job))
	if l.state(job, 2) != pb.TaskState_TASK_RUNNABLE || l.state(job, 3) != pb.TaskState_TASK_PENDING || l.state(job, RootTask) != pb.TaskState_TASK_PARKED {
		t.Fatalf("states t1 %v t2 %v t3 %v", l.state(job, RootTask), l.state(job, 2), l.state(job, 3))
	}
	first, g := l.start(job, 2, 2)
	if g.GetSeq() != 1 || g.GetCheckpointKey() != "" || g.GetCheckpointSeq() != 0 {
		t.Fatalf("a task without a checkpoint starts over: %v", g)
	}
	first.exit("1")
	second, g := l.start(job, 3, 1)
	if len(g.GetAwaited()) != 1 || g.GetAwaited()[0].GetFailed() {
		t.Fatalf("t3 starts with its awaited result: %v", g.GetAwaited())
	}
	second.exit("2")
	root, _ = l.start(job, RootTask, 2)
	root.exit("2")
	if l.m.Job(job).GetState() != pb.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", l.m.Job(job))
	}
}

// A cancelled job: its running task runs again, a task blocked in a wait
// waits again, and a consumer blocked on a queue keeps its place there.
func TestRetryOfACancelledJob(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	q := root.call(&pb.CreateQueues{Count: 1, MaxSize: 1}).GetQueuesCreated().GetQueueIds()[0]
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("producer")}, {Start: inline("consumer")}}})
	root.call(&pb.Wait{Futures: []uint64{2, 3}})
	consumer, _ := l.start(job, 3, 1)
	consumer.call(&pb.Dequeue{QueueId: q})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: consumer.ref, Seq: consumer.seq}}})
	producer, _ := l.start(job, 2, 1)
	producer.call(&pb.Checkpoint{})
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job, Reason: "maintenance"}}})

	l.ok(retry(job))
	if s := [3]pb.TaskState{l.state(job, 1), l.state(job, 2), l.state(job, 3)}; s != [3]pb.TaskState{pb.TaskState_TASK_PARKED, pb.TaskState_TASK_RUNNABLE, pb.TaskState_TASK_PARKED} {
		t.Fatalf("states %v", s)
	}
	// The producer runs from its pointer; its item goes to the waiting consumer.
	producer, g := l.start(job, 2, 2)
	if g.GetSeq() != 1 || g.GetCheckpointSeq() != 0 {
		t.Fatalf("producer grant %v", g)
	}
	producer.call(&pb.Enqueue{QueueId: q, Items: []*pb.Value{inline("item")}})
	producer.exit("p")
	consumer, g = l.start(job, 3, 2)
	if string(g.GetLastResponse().GetDequeued().GetItem().GetInline()) != "item" {
		t.Fatalf("consumer grant %v", g)
	}
	consumer.exit("c")
	root, _ = l.start(job, RootTask, 2)
	root.exit("done")
	if l.m.Job(job).GetState() != pb.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", l.m.Job(job))
	}
}

// A task that ran out of launches gets a fresh budget.
func TestRetryGivesAFreshLaunchBudget(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc", MaxLaunches: 2}}}).GetJobId()
	for epoch := uint64(1); epoch <= 2; epoch++ {
		l.start(job, RootTask, epoch)
		l.ok(ended(job, RootTask, epoch, pb.Outcome_OUTCOME_CRASH))
	}
	if l.m.Job(job).GetState() != pb.JobState_JOB_FAILED {
		t.Fatalf("job %v", l.m.Job(job))
	}
	l.ok(retry(job))
	for epoch := uint64(3); epoch <= 4; epoch++ {
		l.start(job, RootTask, epoch)
		if epoch == 3 {
			l.ok(ended(job, RootTask, epoch, pb.Outcome_OUTCOME_CRASH))
		}
	}
	if l.m.Job(job).GetState() != pb.JobState_JOB_RUNNING {
		t.Fatalf("the retried task had no fresh budget: %v", l.m.Job(job))
	}
}

func TestRetryRefusals(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	w.fail("boom")
	// Failed while the cluster kept no resume points (version 1).
	l.version2()
	if msg := l.refused(retry(job), pb.ErrorCode_BAD_STATE); !strings.Contains(msg, "resume points") {
		t.Fatalf("message %q", msg)
	}
	running := l.submit()
	if msg := l.refused(retry(running), pb.ErrorCode_BAD_STATE); !strings.Contains(msg, "still running") {
		t.Fatalf("message %q", msg)
	}
	w, _ = l.start(running, RootTask, 1)
	w.exit("1")
	if msg := l.refused(retry(running), pb.ErrorCode_BAD_STATE); !strings.Contains(msg, "nothing to retry") {
		t.Fatalf("message %q", msg)
	}
	l.refused(retry(99), pb.ErrorCode_NOT_FOUND)
	if v := RequiredVersion(retry(1)); v != 2 {
		t.Fatalf("RetryJob needs version %d, want 2", v)
	}
}

// What a retry reads from the store, and what the garbage collector keeps
// for it: the checkpoint and the values of the response it resumes with.
func TestRetryNeedsAndRefs(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: &pb.Value{Where: &pb.Value_Key{Key: "start-key"}}}}})
	child, _ := l.start(job, 2, 1)
	child.exit("x")
	root.call(&pb.Wait{Futures: []uint64{2}})
	root.fail("boom")
	program, keys := l.m.RetryNeeds(job)
	if program != "abc" || len(keys) != 1 || keys[0].Key != "j1/t1/e1-s2" || keys[0].What != "checkpoint" {
		t.Fatalf("needs %s %+v", program, keys)
	}
	if refs := l.m.Refs(job); !refs.Keys["j1/t1/e1-s2"] {
		t.Fatalf("refs %v", refs.Keys)
	}
}
