package fsm

import (
	"bytes"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func TestEachLaunchReplacesTheTaskSecretHash(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	k := TaskKey{job, RootTask}
	if _, _, ok := l.m.LaunchCredential(TaskKey{job, 99}); ok {
		t.Fatal("an unknown task has a launch credential")
	}
	l.ok(&pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: RootTask, Epoch: 1, InvocationId: "inv-1-1-1", SecretHash: []byte("hash-1")}}})
	if e, h, ok := l.m.LaunchCredential(k); !ok || e != 1 || !bytes.Equal(h, []byte("hash-1")) {
		t.Fatalf("after launch 1: epoch %d hash %q ok %v", e, h, ok)
	}
	l.ok(ended(job, RootTask, 1, pb.Outcome_OUTCOME_CRASH))
	// A launch from an old leader (no hash) leaves none behind.
	l.ok(&pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: RootTask, Epoch: 2, InvocationId: "i2"}}})
	if e, h, _ := l.m.LaunchCredential(k); e != 2 || h != nil {
		t.Fatalf("after a launch without a hash: epoch %d hash %q", e, h)
	}
}

func TestSubmitRecordsTheOwner(t *testing.T) {
	l := newLog(t)
	id := l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc", Owner: "alice"}}}).GetJobId()
	if o, ok := l.m.JobOwner(id); !ok || o != "alice" {
		t.Fatalf("owner %q ok %v", o, ok)
	}
	if _, ok := l.m.JobOwner(id + 1); ok {
		t.Fatal("an unknown job has an owner")
	}
}
