package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// deferredExit is the first call of a deferred claim: an exit that claims
// the launch (task, epoch, inv) with nonce in the same entry.
func deferredExit(l *log, job, task, epoch uint64, inv, nonce string, result *pb.Value) *pb.Command {
	w := &worker{l: l, ref: &pb.TaskRef{JobId: job, TaskId: task, Epoch: epoch, Claim: nonce}}
	c := w.callCmd(1, "", &pb.Exit{Result: result, ResultJson: `"v"`})
	c.GetCall().ClaimInvocation = inv
	return c
}

// The grant read for a deferred claim is what the claim itself returns;
// the exit that carries the claim applies both in one entry; a second
// delivery of the same launch, with its own nonce, is superseded; the
// winner's re-sent exit gets its stored response.
func TestADeferredClaimTravelsWithTheExit(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	inv := l.launch(job, RootTask, 1)
	peeked, bad := l.m.PeekGrant(job, RootTask, 1, inv)
	if bad != nil || peeked.GetAttempt() != 1 || !peeked.GetRoot() || string(peeked.GetEventJson()) != `{"n":3}` {
		t.Fatalf("peeked grant %v %v", peeked, bad)
	}
	if l.task(job, RootTask).GetState() != pb.TaskState_TASK_LAUNCHED {
		t.Fatal("reading the grant changed the task")
	}
	if _, bad := l.m.PeekGrant(job, RootTask, 1, "another-invocation"); bad.GetError().GetCode() != pb.ErrorCode_SUPERSEDED {
		t.Fatalf("a grant for another invocation: %v", bad)
	}

	winner := deferredExit(l, job, RootTask, 1, inv, "first", inline("v"))
	l.ok(winner)
	task := l.task(job, RootTask)
	if task.GetState() != pb.TaskState_TASK_DONE || task.GetClaim() != "first" || task.GetClaims() != 1 || task.GetSeq() != 1 {
		t.Fatalf("after the exit that claims: %v", task)
	}
	if l.m.Job(job).GetState() != pb.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", l.m.Job(job).GetState())
	}
	if _, bad := l.m.PeekGrant(job, RootTask, 1, inv); bad == nil {
		t.Fatal("a grant was read for a finished task")
	}
	// The duplicate delivery of the same launch loses, whatever its call.
	msg := l.refused(deferredExit(l, job, RootTask, 1, inv, "second", inline("w")), pb.ErrorCode_JOB_FINISHED)
	if strings.Contains(msg, inv) || strings.Contains(msg, "first") {
		t.Fatalf("the refusal names a secret: %s", msg)
	}
}

func TestADuplicateDeliveryLosesToTheDeferredClaim(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	child := w.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("f")}}}).GetSpawned().GetTaskIds()[0]
	inv := l.launch(job, child, 1)
	l.ok(deferredExit(l, job, child, 1, inv, "first", inline("v")))
	if got := l.task(job, child); got.GetState() != pb.TaskState_TASK_DONE || got.GetClaims() != 1 {
		t.Fatalf("child after its exit: %v", got)
	}
	// The same exit sent again (a lost response): its stored response.
	l.ok(deferredExit(l, job, child, 1, inv, "first", inline("v")))
	// Another delivery of the launch: superseded, the result unchanged.
	l.refused(deferredExit(l, job, child, 1, inv, "second", inline("w")), pb.ErrorCode_SUPERSEDED)
	// A claim after the deferred one won: superseded too.
	l.refused(claimCmd(job, child, 1, inv, "third"), pb.ErrorCode_SUPERSEDED)
	if got := l.task(job, child); got.GetClaim() != "first" || got.GetClaims() != 1 {
		t.Fatalf("child after the losers: %v", got)
	}
}

// Only an exit or a fail naming no store key may carry the claim: a
// store write before the claim won could collide with another delivery's.
func TestOnlyAStorelessExitOrFailMayCarryTheClaim(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	inv := l.launch(job, RootTask, 1)
	keyed := &pb.Value{Where: &pb.Value_Key{Key: "jobs/j1/t1/e1-s1-result0.val"}}
	if msg := l.refused(deferredExit(l, job, RootTask, 1, inv, "n", keyed), pb.ErrorCode_INVALID); !strings.Contains(msg, "names a store key") {
		t.Fatalf("exit with a stored result: %s", msg)
	}
	w := &worker{l: l, ref: &pb.TaskRef{JobId: job, TaskId: RootTask, Epoch: 1, Claim: "n"}}
	ckpt := w.callCmd(1, "jobs/j1/t1/e1-s1.ckpt", &pb.Checkpoint{})
	ckpt.GetCall().ClaimInvocation = inv
	if msg := l.refused(ckpt, pb.ErrorCode_INVALID); !strings.Contains(msg, "only an exit or a fail") {
		t.Fatalf("checkpoint that claims: %s", msg)
	}
	if l.task(job, RootTask).GetState() != pb.TaskState_TASK_LAUNCHED {
		t.Fatal("a refused call claimed the launch")
	}
	fail := w.callCmd(1, "", &pb.Fail{Error: "boom"})
	fail.GetCall().ClaimInvocation = inv
	l.ok(fail)
	if got := l.task(job, RootTask); got.GetState() != pb.TaskState_TASK_FAILED || got.GetClaim() != "n" {
		t.Fatalf("after the fail that claims: %v", got)
	}
}

// A replica below command version 3 would refuse the call as unclaimed.
func TestADeferredClaimNeedsCommandVersion3(t *testing.T) {
	l := newLog(t)
	c := deferredExit(l, 1, RootTask, 1, "inv", "n", inline("v"))
	if v := RequiredVersion(c); v != 3 {
		t.Fatalf("required version %d, want 3", v)
	}
}
