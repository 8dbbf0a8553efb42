package fsm

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func submitUnder(q *pb.Quotas) *pb.Command {
	return &pb.Command{Quotas: q, Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}}
}

// The cluster's live-job limit refuses a submit with a message naming the
// quota and how to raise it, changes nothing, and lets the next submit in
// once a job finished.
func TestSubmitBeyondTheLiveJobLimitIsRefused(t *testing.T) {
	l := newLog(t)
	l.version2()
	q := &pb.Quotas{MaxLiveJobs: 2}
	first := l.ok(submitUnder(q)).GetJobId()
	l.ok(submitUnder(q))
	// (Without a clock stamp, so that nothing at all may change.)
	l.clock = false
	before := stateApartFromIndex(t, l.m)
	msg := l.refused(submitUnder(q), pb.ErrorCode_QUOTA_EXCEEDED)
	if stateApartFromIndex(t, l.m) != before {
		t.Fatal("a refused submit changed the state")
	}
	l.clock = true
	for _, want := range []string{"runs 2 jobs", "max-live-jobs", "kappa server --max-live-jobs"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %q", msg, want)
		}
	}
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: first}}})
	l.ok(submitUnder(q))
	// Without quotas (a version-1 command) there is no limit.
	l.clock = false
	l.ok(submitUnder(nil))
}

// A spawn beyond the job's task limit is applied as a refusal: the seq is
// used, the pointer moves, no task is created, the response says which
// quota and how to raise it, a re-sent call gets the same refusal, and the
// task goes on (here: spawns within the limit, and exits).
func TestSpawnBeyondTheTaskLimitIsARefusalTheProgramSees(t *testing.T) {
	l := newLog(t)
	job, w := l.rootUnder(&pb.Quotas{MaxTasksPerJob: 3})
	w.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("a")}}})
	resp := w.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("b")}, {Start: inline("c")}}})
	ref := resp.GetRefused()
	if ref.GetCode() != pb.ErrorCode_QUOTA_EXCEEDED {
		t.Fatalf("response %v, want a quota refusal", resp)
	}
	for _, want := range []string{"job j1 has 2 tasks and may have 3", "spawning 2 more", "kappa server --max-tasks-per-job"} {
		if !strings.Contains(ref.GetMessage(), want) {
			t.Errorf("refusal %q does not say %q", ref.GetMessage(), want)
		}
	}
	task := l.task(job, RootTask)
	if task.GetSeq() != w.seq || task.GetCheckpointKey() == "" || task.GetState() != pb.TaskState_TASK_RUNNING {
		t.Fatalf("the refused call was not applied as a call: %v", task)
	}
	if n := l.m.Job(job).GetNextTaskId(); n != 3 {
		t.Fatalf("a refused spawn created tasks: next task id %d", n)
	}
	key := fmt.Sprintf("j%d/t%d/e%d-s%d", job, RootTask, 1, w.seq)
	again := l.ok(w.callCmd(w.seq, key, &pb.Spawn{Children: []*pb.Child{{Start: inline("b")}, {Start: inline("c")}}}))
	if again.GetResponse().GetRefused().GetMessage() != ref.GetMessage() {
		t.Fatalf("the re-sent call got %v", again)
	}
	if got := w.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("b")}}}).GetSpawned().GetTaskIds(); len(got) != 1 || got[0] != 3 {
		t.Fatalf("a spawn within the limit: %v", got)
	}
	w.exit("1")
	if st := l.m.Job(job).GetState(); st != pb.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v after a refusal it handled", st)
	}
}

// Items beyond what a job's queues may hold are refused the same way;
// dequeueing makes room again.
func TestEnqueueBeyondTheQueueItemLimitIsRefused(t *testing.T) {
	l := newLog(t)
	job, w := l.rootUnder(&pb.Quotas{MaxQueueItemsPerJob: 3})
	q := w.call(&pb.CreateQueues{MaxSize: 10, Count: 2}).GetQueuesCreated().GetQueueIds()
	w.call(&pb.Enqueue{QueueId: q[0], Items: items("a", "b")})
	resp := w.call(&pb.Enqueue{QueueId: q[1], Items: items("c", "d")})
	if msg := resp.GetRefused().GetMessage(); !strings.Contains(msg, "queues of job j1 hold 2 items and may hold 3") || !strings.Contains(msg, "--max-queue-items-per-job") {
		t.Fatalf("response %v, want a refusal naming the queue item quota", resp)
	}
	if n := len(l.m.Queue(QueueKey{job, q[1]}).GetItems()); n != 0 {
		t.Fatalf("a refused enqueue left %d items", n)
	}
	w.call(&pb.Dequeue{QueueId: q[0]})
	if resp := w.call(&pb.Enqueue{QueueId: q[1], Items: items("c", "d")}); resp.GetAck() != true {
		t.Fatalf("after a dequeue, the enqueue fits: %v", resp)
	}
}

// stateApartFromIndex is the state's bytes but for the applied index,
// which every entry moves.
func stateApartFromIndex(t *testing.T, m *Machine) string {
	st := m.State()
	st.AppliedIndex = 0
	data, err := deterministic.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A retried job is live again: a retry beyond the cluster's live-job
// limit is refused like a submit, and one within it counts (the next
// submit is refused) and is no longer judged finished for retention.
func TestARetriedJobCountsAsLiveAgain(t *testing.T) {
	l := newLog(t)
	l.version2()
	l.quotas = &pb.Quotas{MaxLiveJobs: 1}
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	w.fail("boom")
	if l.m.Job(job).GetFinishedClockMs() == 0 {
		t.Fatal("a failed job carries no finish on the cluster clock")
	}
	other := l.submit()
	if msg := l.refused(retry(job), pb.ErrorCode_QUOTA_EXCEEDED); !strings.Contains(msg, "max-live-jobs") {
		t.Fatalf("refusal %q does not name the quota", msg)
	}
	if l.m.Job(job).GetState() != pb.JobState_JOB_FAILED {
		t.Fatalf("a refused retry changed the job: %v", l.m.Job(job))
	}
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: other}}})
	l.ok(retry(job))
	if j := l.m.Job(job); j.GetState() != pb.JobState_JOB_RUNNING || j.GetFinishedClockMs() != 0 {
		t.Fatalf("retried job %v", j)
	}
	l.refused(submitUnder(nil), pb.ErrorCode_QUOTA_EXCEEDED)
	// The count survives a snapshot.
	l.m = viaSnapshot(t, l.m)
	l.refused(submitUnder(nil), pb.ErrorCode_QUOTA_EXCEEDED)
}

// A submitter's live-job limit counts its own running jobs only: another
// submitter still gets in, a job without an owner (an open cluster) is not
// counted, and the submitter gets in again once one of its jobs finished;
// the counts survive a snapshot.
func TestSubmitBeyondTheSubmittersLiveJobLimitIsRefused(t *testing.T) {
	l := newLog(t)
	l.version2()
	l.quotas = &pb.Quotas{MaxLiveJobsPerSubmitter: 2}
	by := func(owner string) *pb.Command {
		return &pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p", Owner: owner}}}
	}
	first := l.ok(by("ci")).GetJobId()
	l.ok(by("ci"))
	msg := l.refused(by("ci"), pb.ErrorCode_QUOTA_EXCEEDED)
	for _, want := range []string{"ci runs 2 jobs", "kappa server --max-live-jobs-per-submitter"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %q", msg, want)
		}
	}
	l.ok(by("alice"))
	l.ok(by(""))
	l.ok(by(""))
	l.ok(by(""))
	l.m = viaSnapshot(t, l.m)
	l.refused(by("ci"), pb.ErrorCode_QUOTA_EXCEEDED)
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: first}}})
	l.ok(by("ci"))
	l.refused(by("ci"), pb.ErrorCode_QUOTA_EXCEEDED)
}
