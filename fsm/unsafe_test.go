package fsm

import (
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// The test-only switches really break what they name (so the Jepsen-style
// runs that use them test the checkers, not a no-op).

func TestUnsafeNoDedupAppliesAResentCallTwice(t *testing.T) {
	l := newLog(t)
	l.m.SetUnsafe(Unsafe{NoDedup: true})
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	cmd := w.callCmd(1, w.key(), &pb.Spawn{Children: []*pb.Child{{Start: inline("x")}}})
	l.ok(cmd)
	l.ok(cmd)
	if n := l.m.Job(job).GetNextTaskId(); n != 4 {
		t.Fatalf("without dedup the re-sent spawn must create a second child: next id %d", n)
	}
	if task := l.task(job, RootTask); task.GetAppliedCalls() != 2 || task.GetSeq() != 1 {
		t.Fatalf("applied %d calls at seq %d", task.GetAppliedCalls(), task.GetSeq())
	}
}

func TestUnsafeNoFencingAcceptsASupersededClaim(t *testing.T) {
	l := newLog(t)
	l.m.SetUnsafe(Unsafe{NoFencing: true})
	job := l.submit()
	old, _ := l.start(job, RootTask, 1)
	old.call(&pb.Checkpoint{})
	l.ok(ended(job, RootTask, 1, pb.Outcome_OUTCOME_CRASH))
	l.start(job, RootTask, 2)
	l.ok(old.callCmd(2, old.key(), &pb.Checkpoint{}))
}

func TestUnsafeSurvivesRestore(t *testing.T) {
	m := New()
	m.SetUnsafe(Unsafe{NoDedup: true})
	data, err := New().MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Restore(data); err != nil {
		t.Fatal(err)
	}
	if !m.unsafe.NoDedup {
		t.Fatal("a snapshot restore dropped the switch")
	}
}
