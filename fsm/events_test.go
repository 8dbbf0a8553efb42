package fsm

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// v2 raises the cluster to command version 2, where histories are kept.
// fail sends the worker's Fail, which carries no checkpoint.
func (w *worker) fail(msg string) {
	w.l.t.Helper()
	w.l.ok(w.callCmd(w.seq+1, "", &pb.Fail{Error: msg}))
	w.seq++
}

func leaderChanged(node string, term uint64) *pb.Command {
	return &pb.Command{Op: &pb.Command_LeaderChanged{LeaderChanged: &pb.LeaderChanged{NodeId: node, Term: term}}}
}

// story renders a job's history as "kind[/tN][:reason]" words.
func story(l *log, job uint64) string {
	var words []string
	for _, e := range l.m.History(job, 0).GetEvents() {
		w := strings.TrimPrefix(e.GetKind().String(), "EVENT_")
		if e.GetTaskId() != 0 {
			w += fmt.Sprintf("/t%d", e.GetTaskId())
		}
		if e.GetReason() != pb.LaunchReason_LAUNCH_REASON_UNSPECIFIED {
			w += ":" + strings.TrimPrefix(e.GetReason().String(), "LAUNCH_")
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

func TestHistoryTellsTheLifeOfAJob(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Checkpoint{})
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c"), Name: "square"}}})
	root.call(&pb.Wait{Futures: []uint64{2}})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	child, _ := l.start(job, 2, 1)
	child.call(&pb.Checkpoint{})
	l.ok(ended(job, 2, 1, pb.Outcome_OUTCOME_TIMEOUT))
	l.ok(leaderChanged("n1", 2))
	l.ok(leaderChanged("n2", 3))
	child, g := l.start(job, 2, 2)
	if g.GetSeq() != 1 {
		t.Fatalf("grant %v", g)
	}
	child.call(&pb.Yield{})
	child, _ = l.start(job, 2, 3)
	child.exit("9")
	root, _ = l.start(job, RootTask, 2)
	root.exit("9")

	want := "SUBMITTED LAUNCHED/t1:FIRST CLAIMED/t1 CHECKPOINTED/t1 SPAWNED/t2 PARKED/t1 LAUNCHED/t2:FIRST CLAIMED/t2 CHECKPOINTED/t2 " +
		"LEADER_CHANGED LEADER_CHANGED LAUNCHED/t2:TIMEOUT CLAIMED/t2 YIELDED/t2 LAUNCHED/t2:YIELD CLAIMED/t2 TASK_DONE/t2 " +
		"LAUNCHED/t1:UNBLOCKED CLAIMED/t1 TASK_DONE/t1 JOB_SUCCEEDED"
	if got := story(l, job); got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
	h := l.m.History(job, 0)
	for i, e := range h.GetEvents() {
		if e.GetSeq() != uint64(i+1) || e.GetAtUnixMs() == 0 {
			t.Fatalf("event %d: seq %d at %d", i, e.GetSeq(), e.GetAtUnixMs())
		}
		if i > 0 && e.GetAtUnixMs() < h.GetEvents()[i-1].GetAtUnixMs() {
			t.Fatalf("event %d is older than the one before", e.GetSeq())
		}
	}
	byKind := map[pb.EventKind]*pb.JobEvent{}
	for _, e := range h.GetEvents() {
		byKind[e.GetKind()] = e
	}
	if d := byKind[pb.EventKind_EVENT_SPAWNED].GetDetail(); d != "square by t1" {
		t.Errorf("spawn detail %q", d)
	}
	if e := byKind[pb.EventKind_EVENT_LEADER_CHANGED]; e.GetDetail() != "n1 → n2" || e.GetCount() != 3 {
		t.Errorf("second leader change %v", e)
	}
	timeout := h.GetEvents()[11]
	if timeout.GetEpoch() != 2 || timeout.GetReason() != pb.LaunchReason_LAUNCH_TIMEOUT || timeout.GetDetail() != "test" {
		t.Errorf("relaunch after a timeout: %v", timeout)
	}
	// The task table's numbers.
	rows := l.m.TaskTable(job)
	if len(rows) != 2 || rows[1].Launches != 3 || rows[1].Checkpoints != 2 || rows[1].Name != "square" ||
		rows[1].FirstLaunch == 0 || rows[1].Ended <= rows[1].FirstLaunch || rows[1].LastCheckpoint == 0 {
		t.Fatalf("task table %+v", rows)
	}
	if j := l.m.Job(job); j.GetStartedUnixMs() != rows[0].FirstLaunch || j.GetStartedUnixMs() <= j.GetSubmittedUnixMs() {
		t.Fatalf("started %d, submitted %d", j.GetStartedUnixMs(), j.GetSubmittedUnixMs())
	}
	// Reading after a seq returns only the newer events.
	if tail := l.m.History(job, 18); len(tail.GetEvents()) != 3 || tail.GetEvents()[0].GetSeq() != 19 {
		t.Fatalf("after 18: %v", tail.GetEvents())
	}
	if none := l.m.History(job, 99); len(none.GetEvents()) != 0 {
		t.Fatalf("after the last: %v", none.GetEvents())
	}
}

func TestTaskFailuresAndTheJobsEndAreEvents(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("a")}, {Start: inline("b")}}})
	w, _ := l.start(job, 2, 1)
	w.fail("Traceback (most recent call last):\n  File \"x.py\", line 3, in f\nValueError: the service is down\n")
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job, Reason: "by ops"}}})
	got := story(l, job)
	if !strings.HasSuffix(got, "TASK_FAILED/t2 JOB_CANCELLED") {
		t.Fatalf("history %s", got)
	}
	h := l.m.History(job, 0).GetEvents()
	if d := h[len(h)-2].GetDetail(); d != "ValueError: the service is down" {
		t.Errorf("a traceback's event names the exception, got %q", d)
	}
	if d := h[len(h)-1].GetDetail(); d != "cancelled: by ops" {
		t.Errorf("cancel detail %q", d)
	}
	// The tasks the cancel ended make no events of their own.
	if strings.Count(got, "TASK_FAILED") != 1 {
		t.Errorf("history %s", got)
	}
}

func TestNothingIsRecordedBelowVersion2(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Checkpoint{})
	if h := l.m.History(job, 0); h != nil || l.m.Recording() {
		t.Fatalf("a version-1 cluster recorded %v", h)
	}
	if rows := l.m.TaskTable(job); rows[0].Launches != 0 || rows[0].Checkpoints != 0 {
		t.Fatalf("a version-1 cluster counted %+v", rows[0])
	}
	// Raised while the job runs: the history starts then, marked partial.
	l.version2()
	root.call(&pb.Checkpoint{})
	h := l.m.History(job, 0)
	if !h.GetPartial() || story(l, job) != "CHECKPOINTED/t1" {
		t.Fatalf("partial history %v", h)
	}
}

func TestHistoryIsBoundedAndCountsWhatItDropped(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc", HistoryLimit: 10}}}).GetJobId()
	root, _ := l.start(job, RootTask, 1)
	var children []*pb.Child
	for i := 0; i < 30; i++ {
		children = append(children, &pb.Child{Start: inline("x")})
	}
	root.call(&pb.Spawn{Children: children})
	h := l.m.History(job, 0)
	// submitted, launched, claimed, 30 spawned, 1 checkpoint: 34 events.
	if len(h.GetEvents()) != 10 || h.GetDropped() != 24 {
		t.Fatalf("kept %d, dropped %d", len(h.GetEvents()), h.GetDropped())
	}
	if first, last := h.GetEvents()[0], h.GetEvents()[9]; first.GetSeq() != 25 || last.GetSeq() != 34 || last.GetTaskId() != 31 {
		t.Fatalf("kept events %d..%d (last of t%d), want 25..34", first.GetSeq(), last.GetSeq(), last.GetTaskId())
	}
	if tail := l.m.History(job, 5); len(tail.GetEvents()) != 10 {
		t.Fatalf("reading from a dropped seq gives what is kept: %d", len(tail.GetEvents()))
	}
	if tail := l.m.History(job, 30); len(tail.GetEvents()) != 4 || tail.GetEvents()[0].GetSeq() != 31 {
		t.Fatalf("after 30: %v", tail.GetEvents())
	}
	// The limit travels in the submit and is capped.
	big := l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc", HistoryLimit: 1 << 30}}}).GetJobId()
	if got := l.m.Job(big).GetHistoryLimit(); got != MaxHistoryLimit {
		t.Fatalf("limit %d, want the cap %d", got, MaxHistoryLimit)
	}
}

func TestCheckpointEventsAreSampledByCommittedTime(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	for i := 0; i < 50; i++ { // 10 ms apart in the test log
		root.call(&pb.Checkpoint{})
	}
	l.now += checkpointEventEvery
	root.call(&pb.Checkpoint{})
	var counts []uint64
	for _, e := range l.m.History(job, 0).GetEvents() {
		if e.GetKind() == pb.EventKind_EVENT_CHECKPOINTED {
			counts = append(counts, e.GetCount())
		}
	}
	if fmt.Sprint(counts) != "[1 51]" {
		t.Fatalf("checkpoint events with counts %v, want the first and one after the interval", counts)
	}
	if rows := l.m.TaskTable(job); rows[0].Checkpoints != 51 {
		t.Fatalf("checkpoints %d", rows[0].Checkpoints)
	}
}

func TestALeaseLostInALeaderChangeIsNamedSo(t *testing.T) {
	l := newLog(t)
	l.version2()
	l.ok(leaderChanged("n1", 1))
	job := l.submit()
	l.start(job, RootTask, 1)
	l.ok(ended(job, RootTask, 1, pb.Outcome_OUTCOME_LEASE_EXPIRED))
	l.start(job, RootTask, 2)
	l.ok(leaderChanged("n2", 2))
	l.ok(ended(job, RootTask, 2, pb.Outcome_OUTCOME_LEASE_EXPIRED))
	l.start(job, RootTask, 3)
	got := story(l, job)
	if !strings.Contains(got, "LAUNCHED/t1:LEASE_EXPIRED") || !strings.Contains(got, "LAUNCHED/t1:LEADER_CHANGE") {
		t.Fatalf("history %s", got)
	}
	if !strings.HasPrefix(l.task(job, RootTask).GetLastOutcome(), "lease expired: ") {
		t.Fatalf("last outcome %q", l.task(job, RootTask).GetLastOutcome())
	}
}

func TestLeaderChangesReachOnlyRunningJobs(t *testing.T) {
	l := newLog(t)
	l.version2()
	done := l.submit()
	w, _ := l.start(done, RootTask, 1)
	w.exit("1")
	running := l.submit()
	l.ok(leaderChanged("n3", 7))
	if strings.Contains(story(l, done), "LEADER_CHANGED") || !strings.HasSuffix(story(l, running), "LEADER_CHANGED") {
		t.Fatalf("finished: %s; running: %s", story(l, done), story(l, running))
	}
	if e := l.m.History(running, 0).GetEvents(); e[len(e)-1].GetDetail() != "→ n3" {
		t.Fatalf("first leader named as %q", e[len(e)-1].GetDetail())
	}
	l.refused(leaderChanged("", 8), pb.ErrorCode_INVALID)
}

func TestHistoriesAreInSnapshotsAndTheStateHash(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Checkpoint{})
	l.ok(leaderChanged("n1", 1))
	data, err := l.m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	restored := New()
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	if restored.StateHash() != l.m.StateHash() || len(restored.History(job, 0).GetEvents()) != 5 || restored.LeaderID() != "n1" {
		t.Fatalf("restored history %v", restored.History(job, 0))
	}
	// The hash covers the history: the same state with one event less differs.
	st := l.m.State()
	st.Histories[0].Events = st.Histories[0].Events[:4]
	data, _ = deterministic.Marshal(st)
	shorter := New()
	if err := shorter.Restore(data); err != nil {
		t.Fatal(err)
	}
	if shorter.StateHash() == l.m.StateHash() {
		t.Fatal("the state hash does not cover the history")
	}
	// Replaying the log gives the same histories.
	replay := New()
	for i, e := range l.entries {
		replay.Apply(uint64(i+1), e)
	}
	if replay.StateHash() != l.m.StateHash() {
		t.Fatal("a replica that replayed the log has another history")
	}
	// A forgotten job's history goes with it.
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job}}})
	l.ok(&pb.Command{Op: &pb.Command_ForgetJob{ForgetJob: &pb.ForgetJob{JobId: job}}})
	if l.m.History(job, 0) != nil || len(l.m.State().GetHistories()) != 0 {
		t.Fatal("a forgotten job's history stayed")
	}
}

// The memory a full history takes per job (docs/operations.md): jobs with
// DefaultHistoryLimit events each, measured on the heap.
func BenchmarkHistoryMemoryPerJob(b *testing.B) {
	const jobs = 200
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := New()
		m.clusterVersion = 2
		for j := uint64(1); j <= jobs; j++ {
			job := &pb.Job{Id: j}
			for k := 0; k < DefaultHistoryLimit; k++ {
				m.record(job, 1_700_000_000_000+int64(k), &pb.JobEvent{Kind: pb.EventKind_EVENT_LAUNCHED, TaskId: uint64(k), Epoch: 3,
					Reason: pb.LaunchReason_LAUNCH_TIMEOUT, Detail: "timed out: Task timed out after 3.00 seconds"})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/jobs, "heap-bytes/job")
		size := 0
		for _, h := range m.histories {
			size += deterministicSize(h)
		}
		b.ReportMetric(float64(size)/jobs, "snapshot-bytes/job")
		runtime.KeepAlive(m)
	}
}

func deterministicSize(h *pb.JobHistory) int {
	data, _ := deterministic.Marshal(h)
	return len(data)
}
