package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// events reads a job's history through the API (follow: to the job's end).
func events(t *testing.T, c wire.ClientServiceClient, job, after uint64, follow bool) ([]*wire.JobEvent, *wire.JobEventsResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.JobEvents(ctx, &wire.JobEventsRequest{JobId: job, AfterSeq: after, Follow: follow})
	if err != nil {
		return nil, nil, err
	}
	var all []*wire.JobEvent
	var last *wire.JobEventsResponse
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return all, last, nil
		}
		if err != nil {
			return all, last, err
		}
		all, last = append(all, r.GetEvents()...), r
	}
}

func kinds(events []*wire.JobEvent) string {
	var out []string
	for _, e := range events {
		w := e.GetKind()
		if e.GetReason() != "" {
			w += ":" + e.GetReason()
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// A follower of a job's events gets each event once, in order, and the
// stream ends with the job; the task table counts what the history shows.
func TestJobEventsFollowAJobToItsEnd(t *testing.T) {
	release := make(chan struct{})
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		<-release
		w.mustCall(checkpointReq())
		w.mustCall(exitReq("7"))
		return lambda.OK
	}}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, "def handler(e, c):\n    return 7\n")
	got := make(chan []*wire.JobEvent, 1)
	go func() {
		all, _, err := events(t, c, job, 0, true)
		if err != nil {
			t.Errorf("follow: %v", err)
		}
		got <- all
	}()
	nodetest.Eventually(t, 10*time.Second, "the first checkpoint", func() bool {
		return jobTask(n, job, fsm.RootTask).GetSeq() == 1
	})
	close(release)
	all := <-got
	if k := kinds(all); k != "submitted launched:first claimed checkpointed task_done job_succeeded" {
		t.Fatalf("followed events: %s", k)
	}
	for i, e := range all {
		if e.GetSeq() != uint64(i+1) {
			t.Fatalf("event %d has seq %d: each event once, in order", i, e.GetSeq())
		}
	}
	tail, last, err := events(t, c, job, 4, false)
	if err != nil || kinds(tail) != "task_done job_succeeded" || last.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("after seq 4: %s (%v)", kinds(tail), err)
	}
	st, err := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: job, Tasks: true})
	if err != nil {
		t.Fatal(err)
	}
	row := st.GetTasks()[0]
	if len(st.GetTasks()) != 1 || row.GetName() != "handler" || row.GetState() != "done" || row.GetLaunches() != 1 || row.GetCheckpoints() != 2 ||
		row.GetFirstLaunchUnixMs() == 0 || row.GetFinishedUnixMs() < row.GetFirstLaunchUnixMs() || st.GetStartedUnixMs() != row.GetFirstLaunchUnixMs() {
		t.Fatalf("task table %v, started %d", st.GetTasks(), st.GetStartedUnixMs())
	}
	if _, _, err := events(t, c, 99, 0, false); status.Code(err) != codes.NotFound {
		t.Fatalf("events of an unknown job: %v", err)
	}
}

// A node restarted mid-job leads again: the running job's history records
// the leader change, and its task, whose lambda the change lost, is
// relaunched for that reason, from its checkpoint.
func TestALeaderChangeIsInTheRunningJobsHistory(t *testing.T) {
	dir := t.TempDir()
	hang := make(chan struct{})
	defer close(hang)
	first := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		<-hang // the lambda is lost with its leader
		return lambda.Crash
	}}
	fast := func(c *Config) { c.Worker.HeartbeatInterval = 200 * time.Millisecond }
	n := testNode(t, first, dir, fast)
	job := submit(t, clientFor(t, n), "def handler(e, c):\n    return 1\n")
	nodetest.Eventually(t, 10*time.Second, "the checkpoint", func() bool { return jobTask(n, job, fsm.RootTask).GetSeq() == 1 })
	n.Close()

	var grant atomic.Pointer[wire.ClaimResponse]
	second := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		grant.Store(w.claim())
		w.mustCall(exitReq("1"))
		return lambda.OK
	}}
	n = testNode(t, second, dir, fast)
	defer n.Close()
	c := clientFor(t, n)
	if st := awaitJob(t, c, job, 30*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", st)
	}
	if g := grant.Load(); g.GetSeq() != 1 || g.GetCheckpointKey() == "" {
		t.Fatalf("the relaunch did not resume from the checkpoint: %v", g)
	}
	all, _, err := events(t, c, job, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "submitted launched:first claimed checkpointed leader_changed launched:leader_change claimed task_done job_succeeded"
	if k := kinds(all); k != want {
		t.Fatalf("history\n got %s\nwant %s", k, want)
	}
	if lc := all[4]; lc.GetDetail() != "n1 → n1" || lc.GetCount() < 2 {
		t.Fatalf("leader change %v", lc)
	}
}

// A failed job is retried once the store holds what its tasks resume
// from; before, the retry is refused naming the missing checkpoint.
func TestRetryChecksTheStoreThenResumes(t *testing.T) {
	var grant atomic.Pointer[wire.ClaimResponse]
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		g := w.claim()
		if w.spec.Epoch == 1 {
			w.mustCall(checkpointReq())
			w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Fail{Fail: &wire.FailOp{Error: "ConnectionError: the service is down"}}})
			return lambda.OK
		}
		grant.Store(g)
		w.mustCall(exitReq("3"))
		return lambda.OK
	}}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, "def handler(e, c):\n    return 3\n")
	if st := awaitJob(t, c, job, 20*time.Second); st.GetState() != wire.JobState_JOB_FAILED {
		t.Fatalf("job %v", st)
	}
	retry := func() (*wire.RetryJobResponse, error) {
		return c.RetryJob(context.Background(), &wire.RetryJobRequest{ClientId: "test", RequestId: uint64(time.Now().UnixNano()), JobId: job, Reason: "by test"})
	}
	// The scripted worker named a checkpoint it never wrote.
	key := checkpoint.CheckpointKey(job, fsm.RootTask, 1, 1)
	_, err := retry()
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "the checkpoint of t1 ("+key+")") {
		t.Fatalf("retry with a missing checkpoint: %v", err)
	}
	if st, _ := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: job}); st.GetState() != wire.JobState_JOB_FAILED || st.GetRetries() != 0 {
		t.Fatalf("a refused retry changed the job: %v", st)
	}
	if err := n.cfg.Store.Put(context.Background(), key, []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
	r, err := retry()
	if err != nil || fmt.Sprint(r.GetTaskIds()) != "[1]" {
		t.Fatalf("retry: %v %v", r, err)
	}
	st := awaitJob(t, c, job, 20*time.Second)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "3" || st.GetRetries() != 1 {
		t.Fatalf("job after retry %v", st)
	}
	if g := grant.Load(); g.GetSeq() != 2 || g.GetCheckpointSeq() != 1 || g.GetCheckpointKey() != key {
		t.Fatalf("the retried task's grant %v", g)
	}
	if _, err := retry(); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "nothing to retry") {
		t.Fatalf("retrying a job that succeeded: %v", err)
	}
}

// failingArchive is a store whose archive writes fail while fail is set.
type failingArchive struct {
	checkpoint.Store
	fail atomic.Bool
}

func (s *failingArchive) Put(ctx context.Context, key string, data []byte) error {
	if s.fail.Load() && strings.HasPrefix(key, checkpoint.ArchivePrefix) {
		return errors.New("disk full")
	}
	return s.Store.Put(ctx, key, data)
}

// At the end of its retention a job goes to the archive before its keys
// are deleted: while the archive cannot be written nothing is deleted;
// then the job is read from the archive.
func TestRetentionArchivesTheJobBeforeDeletingIt(t *testing.T) {
	dir := t.TempDir()
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		w.mustCall(exitReq(`"ok"`))
		return lambda.OK
	}}
	var store *failingArchive
	n := testNode(t, inv, dir, func(c *Config) {
		store = &failingArchive{Store: c.Store}
		store.fail.Store(true)
		c.Store, c.GCInterval, c.Retention = store, 50*time.Millisecond, 200*time.Millisecond
	})
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, "def handler(e, c):\n    return 'ok'\n")
	awaitJob(t, c, job, 20*time.Second)
	nodetest.Eventually(t, 10*time.Second, "a failed GC round", func() bool { return strings.Contains(n.GC().LastError, "disk full") })
	if st, err := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: job}); err != nil || st.GetArchived() {
		t.Fatalf("the job left the cluster without its archive: %v %v", st, err)
	}
	if ok, _ := store.Exists(context.Background(), checkpoint.ProgramKey(jobProgram(n, job))); !ok {
		t.Fatal("the program bundle is gone")
	}
	store.fail.Store(false)
	nodetest.Eventually(t, 10*time.Second, "the job forgotten", func() bool {
		gone := false
		n.replica.read(func(m *fsm.Machine) { gone = m.Job(job) == nil })
		return gone
	})
	if keys, _ := store.List(context.Background(), checkpoint.JobPrefix(job)); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
	st, err := c.GetJob(context.Background(), &wire.GetJobRequest{JobId: job, Tasks: true})
	if err != nil || !st.GetArchived() || st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"ok"` ||
		len(st.GetTasks()) != 1 || st.GetTasks()[0].GetCheckpoints() != 1 || st.GetFinishedUnixMs() == 0 {
		t.Fatalf("archived job %v %v", st, err)
	}
	list, err := c.ListJobs(context.Background(), &wire.ListJobsRequest{Archived: true})
	if err != nil || len(list.GetJobs()) != 1 || list.GetJobs()[0].GetJobId() != job || len(list.GetJobs()[0].GetTasks()) != 0 {
		t.Fatalf("archive list %v %v", list, err)
	}
	all, last, err := events(t, c, job, 2, true)
	if err != nil || !last.GetArchived() || kinds(all) != "claimed checkpointed task_done job_succeeded" {
		t.Fatalf("archived events after 2: %s %v %v", kinds(all), last, err)
	}
	if current, _ := c.ListJobs(context.Background(), &wire.ListJobsRequest{}); len(current.GetJobs()) != 0 {
		t.Fatalf("the cluster still lists %v", current.GetJobs())
	}
}

func jobProgram(n *Node, job uint64) (hash string) {
	n.replica.read(func(m *fsm.Machine) { hash = m.Job(job).GetProgramHash() })
	return hash
}

// Below command version 2 (an older voter) nothing is recorded and
// retries are refused, each saying why.
func TestHistoryAndRetryWaitForVersion2(t *testing.T) {
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Fail{Fail: &wire.FailOp{Error: "boom"}}})
		return lambda.OK
	}}
	n := testNode(t, inv, t.TempDir(), func(c *Config) { c.MaxCommandVersion = 1 })
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, "def handler(e, c):\n    return 1\n")
	awaitJob(t, c, job, 20*time.Second)
	if _, _, err := events(t, c, job, 0, false); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "command version 1") {
		t.Fatalf("events below version 2: %v", err)
	}
	_, err := c.RetryJob(context.Background(), &wire.RetryJobRequest{ClientId: "test", RequestId: 1, JobId: job})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "command version 2") {
		t.Fatalf("retry below version 2: %v", err)
	}
	var recording bool
	n.replica.read(func(m *fsm.Machine) { recording = m.Recording() || m.History(job, 0) != nil })
	if recording {
		t.Fatal("a version-1 cluster recorded a history")
	}
}
