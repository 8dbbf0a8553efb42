package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func TestJobRunsSpawnWaitExit(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	if got := l.m.Runnable(); len(got) != 1 || got[0] != (TaskKey{job, RootTask}) {
		t.Fatalf("root should be runnable, got %v", got)
	}
	root, g := l.start(job, RootTask, 1)
	if !g.GetRoot() || string(g.GetEventJson()) != `{"n":3}` || g.GetProgramHash() != "abc" || g.GetSeq() != 0 {
		t.Fatalf("bad grant %v", g)
	}
	root.call(&pb.Checkpoint{})
	sp := root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("a")}, {Start: inline("b")}}}).GetSpawned()
	if len(sp.GetTaskIds()) != 2 || sp.GetTaskIds()[0] != 2 || sp.GetTaskIds()[1] != 3 {
		t.Fatalf("spawned %v", sp)
	}
	if resp := root.call(&pb.Wait{Futures: []uint64{2, 3}}); resp.GetBlocked().GetNotRunning() != 2 {
		t.Fatalf("wait on unfinished children should block, got %v", resp)
	}
	if l.task(job, RootTask).GetState() != pb.TaskState_TASK_BLOCKED {
		t.Fatalf("root should be blocked")
	}
	if r, bad := l.m.Poll(root.ref, root.seq); r != nil || bad != nil {
		t.Fatalf("poll before children finish: %v %v", r, bad)
	}
	for _, id := range []uint64{2, 3} {
		w, g := l.start(job, id, 1)
		if string(g.GetStart().GetInline()) == "" || g.GetRoot() || g.GetParentId() != RootTask {
			t.Fatalf("child grant %v", g)
		}
		w.exit(map[uint64]string{2: "20", 3: "30"}[id])
	}
	r, bad := l.m.Poll(root.ref, root.seq)
	if bad != nil || len(r.GetResolved().GetResults()) != 2 {
		t.Fatalf("poll after children finish: %v %v", r, bad)
	}
	if got := string(r.GetResolved().GetResults()[1].GetValue().GetInline()); got != "30" {
		t.Fatalf("second result %q", got)
	}
	root.exit("50")
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_SUCCEEDED || j.GetResultJson() != "50" {
		t.Fatalf("job %v", j)
	}
	if j.GetTasksByState()[pb.TaskState_TASK_DONE] != 3 || j.GetRpcs() != 6 {
		t.Fatalf("counts %v rpcs %d", j.GetTasksByState(), j.GetRpcs())
	}
}

func TestResentCallGetsStoredResponseAndAppliesOnce(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	cmd := w.callCmd(1, w.key(), &pb.Spawn{Children: []*pb.Child{{Start: inline("x")}}})
	first := l.ok(cmd).GetResponse()
	again := l.ok(cmd).GetResponse()
	if first.GetSpawned().GetTaskIds()[0] != again.GetSpawned().GetTaskIds()[0] {
		t.Fatalf("re-sent call got another response: %v vs %v", first, again)
	}
	if n := l.m.Job(job).GetNextTaskId(); n != 3 {
		t.Fatalf("the re-sent spawn created another task: next id %d", n)
	}
	task := l.task(job, RootTask)
	if task.GetAppliedCalls() != 1 || len(task.GetAudit()) != 1 || task.GetAudit()[0].GetLogIndex() != 4 {
		t.Fatalf("audit %v", task.GetAudit())
	}

	other := w.callCmd(1, w.key(), &pb.Checkpoint{})
	msg := l.refused(other, pb.ErrorCode_NONDETERMINISTIC_REPLAY)
	if !strings.Contains(msg, "call 1") {
		t.Fatalf("message %q", msg)
	}
	msg = l.refused(w.callCmd(3, "k", &pb.Checkpoint{}), pb.ErrorCode_BAD_SEQ)
	if !strings.Contains(msg, "expects call 2") {
		t.Fatalf("message %q", msg)
	}
}

func TestSupersededInvocationIsRefused(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	old, _ := l.start(job, RootTask, 1)
	old.call(&pb.Checkpoint{})
	// The lambda crashed (as the leader sees it); the task is relaunched.
	l.ok(ended(job, RootTask, 1, pb.Outcome_OUTCOME_CRASH))
	fresh, g := l.start(job, RootTask, 2)
	if g.GetSeq() != 1 || g.GetCheckpointKey() != "j1/t1/e1-s1" || !g.GetLastResponse().GetAck() {
		t.Fatalf("relaunch must resume from the pointer with the stored response: %v", g)
	}
	msg := l.refused(old.callCmd(2, old.key(), &pb.Checkpoint{}), pb.ErrorCode_SUPERSEDED)
	if !strings.Contains(msg, "epoch 1") || !strings.Contains(msg, "current epoch is 2") {
		t.Fatalf("superseded message not precise: %q", msg)
	}
	// A second copy of the current invocation (e.g. an SDK retry) loses,
	// and learns nothing it could claim with: no invocation id, no nonce.
	msg = l.refused(claimCmd(job, RootTask, 2, "inv-1-1-2", "another-nonce"), pb.ErrorCode_SUPERSEDED)
	for _, secret := range []string{"inv-", fresh.ref.GetClaim()} {
		if strings.Contains(msg, secret) {
			t.Fatalf("superseded message %q reveals %q", msg, secret)
		}
	}
	if msg = l.refused(old.callCmd(2, old.key(), &pb.Checkpoint{}), pb.ErrorCode_SUPERSEDED); strings.Contains(msg, "inv-") {
		t.Fatalf("superseded call message %q reveals an invocation id", msg)
	}
	// The same claim re-sent is granted again.
	l.ok(claimCmd(job, RootTask, 2, "inv-1-1-2", fresh.ref.GetClaim()))
	fresh.call(&pb.Checkpoint{})
	if l.m.CheckClaim(old.ref) == nil || l.m.CheckClaim(fresh.ref) != nil {
		t.Fatal("CheckClaim disagrees with the claim rule")
	}
}

func TestParkAndRelaunchWithResponse(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	root.call(&pb.Wait{Futures: []uint64{2}})
	park := &pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}}
	if !l.ok(park).GetPark().GetParked() {
		t.Fatal("park should park a blocked task")
	}
	if !l.ok(park).GetPark().GetParked() {
		t.Fatal("a re-sent park should say parked")
	}
	if len(l.m.Runnable()) != 1 {
		t.Fatalf("only the child should be runnable: %v", l.m.Runnable())
	}
	child, _ := l.start(job, 2, 1)
	child.exit("7")
	if l.task(job, RootTask).GetState() != pb.TaskState_TASK_RUNNABLE {
		t.Fatalf("the parked root should be runnable once its response arrived")
	}
	_, g := l.start(job, RootTask, 2)
	if got := string(g.GetLastResponse().GetResolved().GetResults()[0].GetValue().GetInline()); got != "7" {
		t.Fatalf("relaunched root must get the stored response, got %v", g.GetLastResponse())
	}
}

func TestParkAfterResponseArrivedReturnsIt(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	root.call(&pb.Wait{Futures: []uint64{2}})
	child, _ := l.start(job, 2, 1)
	child.exit("9")
	r := l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}}).GetPark()
	if r.GetParked() || len(r.GetResponse().GetResolved().GetResults()) != 1 {
		t.Fatalf("park should return what arrived first: %v", r)
	}
	root.call(&pb.Checkpoint{})
}

func TestLaunchedTooOftenWithoutProgressFails(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	for e := uint64(1); e <= DefaultMaxLaunches; e++ {
		l.start(job, RootTask, e)
		l.ok(ended(job, RootTask, e, pb.Outcome_OUTCOME_TIMEOUT))
	}
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_FAILED || !strings.Contains(j.GetError(), "launched 8 times without reaching a new checkpoint") ||
		!strings.Contains(j.GetError(), "timed out") {
		t.Fatalf("job %v", j)
	}
	if len(l.m.Runnable()) != 0 {
		t.Fatal("a failed job must have nothing runnable")
	}
}

func TestStaleInvocationEndIsIgnored(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	w.call(&pb.Yield{})
	l.start(job, RootTask, 2)
	// Epoch 1's lambda returns after the yield: nothing changes.
	if !l.ok(ended(job, RootTask, 1, pb.Outcome_OUTCOME_OK)).GetIgnored() {
		t.Fatal("the end of a superseded invocation must be ignored")
	}
	if l.task(job, RootTask).GetState() != pb.TaskState_TASK_RUNNING {
		t.Fatal("epoch 2 should still be running")
	}
	l.refused(&pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: RootTask, Epoch: 3, InvocationId: "x"}}}, pb.ErrorCode_STALE_LAUNCH)
}

func TestDeadlockFailsJobWithWaitForGraph(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	child, _ := l.start(job, 2, 1)
	root.call(&pb.Wait{Futures: []uint64{2}})
	child.call(&pb.Wait{Futures: []uint64{1}})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: child.ref, Seq: child.seq}}})
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_FAILED || !strings.Contains(j.GetError(), "t1 waits for t2; t2 waits for t1") {
		t.Fatalf("job %v", j)
	}
}

func TestFailedChildFailsWaitersAndAwaiters(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("d"), Awaits: []uint64{2}}}})
	if l.task(job, 3).GetState() != pb.TaskState_TASK_PENDING {
		t.Fatal("a child awaiting an unfinished future should be pending")
	}
	root.call(&pb.Wait{Futures: []uint64{2, 3}})
	child, _ := l.start(job, 2, 1)
	child.call(&pb.Fail{Error: "ZeroDivisionError: division by zero"})
	if got := l.task(job, 3); got.GetState() != pb.TaskState_TASK_FAILED || !strings.Contains(got.GetError(), "awaited future t2 failed: ZeroDivisionError") {
		t.Fatalf("awaiting child %v", got)
	}
	r, _ := l.m.Poll(root.ref, root.seq)
	res := r.GetResolved().GetResults()
	if len(res) != 2 || !res[0].GetFailed() || !res[1].GetFailed() {
		t.Fatalf("waiter should see both failures: %v", r)
	}
}

func TestClientSubmitIsDeduplicated(t *testing.T) {
	l := newLog(t)
	c := &pb.Command{ClientId: "cli-1", RequestId: 7, Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}}
	a := l.ok(c).GetJobId()
	b := l.ok(c).GetJobId()
	if a != b || len(l.m.jobs) != 1 {
		t.Fatalf("retried submit applied twice: %d %d", a, b)
	}
}

func TestMalformedCallsAreRefusedPrecisely(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	if msg := l.refused(w.callCmd(1, "k", &pb.Wait{Futures: []uint64{1}}), pb.ErrorCode_INVALID); !strings.Contains(msg, "its own future") {
		t.Fatal(msg)
	}
	if msg := l.refused(w.callCmd(1, "k", &pb.Wait{Futures: []uint64{99}}), pb.ErrorCode_NOT_FOUND); !strings.Contains(msg, "future t99 does not exist") {
		t.Fatal(msg)
	}
	if msg := l.refused(w.callCmd(1, "", &pb.Checkpoint{}), pb.ErrorCode_INVALID); !strings.Contains(msg, "no checkpoint key") {
		t.Fatal(msg)
	}
	l.refused(&pb.Command{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: 42, TaskId: 1}}}, pb.ErrorCode_NOT_FOUND)
	// Nothing above consumed a seq.
	w.call(&pb.Checkpoint{})
}
