package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func relaunchAll(base uint64) *pb.Command {
	return &pb.Command{Op: &pb.Command_RelaunchAll{RelaunchAll: &pb.RelaunchAll{EpochBase: base, Reason: "restored from a backup"}}}
}

// After RelaunchAll every claimed task is runnable again from the pointer
// it had, with an epoch above the base; a blocked task is parked (its
// waiter stays); the old claim is superseded; tasks spawned afterwards
// start above the base too, so no (task, epoch) of the old timeline is
// ever launched again.
func TestRelaunchAllStartsANewTimeline(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, 1, 1)
	kids := root.call(&pb.Spawn{Children: []*pb.Child{{Name: "a", Start: inline("1")}, {Name: "b", Start: inline("2")}}}).GetSpawned().GetTaskIds()
	root.call(&pb.Checkpoint{})
	pointer := l.task(job, 1).GetCheckpointKey()
	child, _ := l.start(job, kids[0], 1)
	child.call(&pb.Checkpoint{})
	// The second child waits for the first: blocked.
	waiter, _ := l.start(job, kids[1], 1)
	if r := waiter.call(&pb.Wait{Futures: []uint64{kids[0]}}); r.GetResolved() != nil {
		t.Fatalf("the wait should block: %v", r)
	}
	if s := l.task(job, kids[1]).GetState(); s != pb.TaskState_TASK_BLOCKED {
		t.Fatalf("waiter is %v", s)
	}

	l.ok(relaunchAll(1000))
	for _, id := range []uint64{1, kids[0]} {
		tk := l.task(job, id)
		if tk.GetState() != pb.TaskState_TASK_RUNNABLE || tk.GetEpoch() != 1000 || !strings.Contains(tk.GetLastOutcome(), "restored") {
			t.Fatalf("t%d after RelaunchAll: %v epoch %d outcome %q", id, tk.GetState(), tk.GetEpoch(), tk.GetLastOutcome())
		}
	}
	if got := l.task(job, 1).GetCheckpointKey(); got != pointer {
		t.Fatalf("the pointer moved: %s → %s", pointer, got)
	}
	if s := l.task(job, kids[1]).GetState(); s != pb.TaskState_TASK_PARKED {
		t.Fatalf("the blocked waiter is %v, want parked", s)
	}
	// The old claim is fenced.
	l.refused(root.callCmd(root.seq+1, root.key(), &pb.Checkpoint{}), pb.ErrorCode_SUPERSEDED)
	// Only the epoch after the base launches; the relaunched task counts
	// as a relaunch, a task spawned now does not.
	l.refused(&pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: 1, Epoch: 2, InvocationId: "x"}}}, pb.ErrorCode_STALE_LAUNCH)
	before := l.m.Job(job).GetRelaunches()
	root2, g := l.start(job, 1, 1001)
	if g.GetCheckpointKey() != pointer || g.GetSeq() != 2 {
		t.Fatalf("the relaunch resumes from %q seq %d, want %q seq 2", g.GetCheckpointKey(), g.GetSeq(), pointer)
	}
	if got := l.m.Job(job).GetRelaunches(); got != before+1 {
		t.Fatalf("relaunches %d → %d, want one more", before, got)
	}
	kid := root2.call(&pb.Spawn{Children: []*pb.Child{{Name: "c", Start: inline("3")}}}).GetSpawned().GetTaskIds()[0]
	if e := l.task(job, kid).GetEpoch(); e != 1000 {
		t.Fatalf("a task spawned after the restore starts at epoch %d, want the base 1000", e)
	}
	before = l.m.Job(job).GetRelaunches()
	l.start(job, kid, 1001)
	if got := l.m.Job(job).GetRelaunches(); got != before {
		t.Fatalf("a new task's first launch counted as a relaunch (%d → %d)", before, got)
	}

	// The base never goes down and stays above every epoch in the state.
	l.ok(relaunchAll(5))
	if b := l.m.EpochBase(); b != 1002 {
		t.Fatalf("epoch base %d after a second RelaunchAll with a lower base, want 1002", b)
	}
	checkSnapshotRoundTrip(t, l)
}

// A job whose every task waits on another once nothing is running any more
// is found deadlocked by RelaunchAll, as by any other end of an epoch.
func TestRelaunchAllLeavesNoTaskRunningOrClaimed(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, 1, 1)
	w.call(&pb.Checkpoint{})
	l.ok(relaunchAll(0))
	if got := l.m.Claimed(); len(got) != 0 {
		t.Fatalf("claimed after RelaunchAll: %v", got)
	}
	if got := l.m.Runnable(); len(got) != 1 || got[0] != (TaskKey{job, 1}) {
		t.Fatalf("runnable after RelaunchAll: %v", got)
	}
	if e := l.task(job, 1).GetEpoch(); e != 2 {
		t.Fatalf("with no base asked, the epoch is %d, want one above the highest (2)", e)
	}
}

func TestSetStoreIsRecordedAndVersioned(t *testing.T) {
	l := newLog(t)
	l.refused(&pb.Command{Op: &pb.Command_SetStore{SetStore: &pb.SetStore{}}}, pb.ErrorCode_INVALID)
	l.ok(&pb.Command{Op: &pb.Command_SetStore{SetStore: &pb.SetStore{Store: "file:///n1/store", PerNode: true}}})
	if s, per := l.m.Store(); s != "file:///n1/store" || !per {
		t.Fatalf("store %q per node %v", s, per)
	}
	checkSnapshotRoundTrip(t, l)
	for _, c := range []*pb.Command{relaunchAll(1), {Op: &pb.Command_SetStore{SetStore: &pb.SetStore{Store: "x"}}}} {
		if v := RequiredVersion(c); v != 2 {
			t.Errorf("%T needs version %d, want 2", c.GetOp(), v)
		}
	}
}

// checkSnapshotRoundTrip: a machine restored from l's snapshot has the
// same state hash.
func checkSnapshotRoundTrip(t *testing.T, l *log) {
	t.Helper()
	data, err := l.m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	if err := m.Restore(data); err != nil {
		t.Fatal(err)
	}
	if m.StateHash() != l.m.StateHash() || m.EpochBase() != l.m.EpochBase() {
		t.Fatal("the snapshot lost the store or the epoch base")
	}
}

// A running job's history tells the new timeline, and its relaunched
// task's next launch says why.
func TestRelaunchAllIsInTheJobsHistory(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.submit()
	w, _ := l.start(job, 1, 1)
	w.call(&pb.Checkpoint{})
	l.ok(relaunchAll(100))
	l.start(job, 1, 101)
	if got, want := story(l, job), "SUBMITTED LAUNCHED/t1:FIRST CLAIMED/t1 CHECKPOINTED/t1 NEW_TIMELINE LAUNCHED/t1:NEW_TIMELINE CLAIMED/t1"; got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
	for _, e := range l.m.History(job, 0).GetEvents() {
		if e.GetKind() == pb.EventKind_EVENT_NEW_TIMELINE && (e.GetCount() != 1 || e.GetDetail() != "restored from a backup") {
			t.Fatalf("new timeline event: %v", e)
		}
	}
}
