package jepsen

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// zombieProgram checkpoints, sleeps, then makes one call whose argument is
// drawn from os.urandom (random's state is part of a checkpoint, see
// kappa/runtime/state.py, so it would draw alike): a zombie and its
// relaunch resume from the same checkpoint but make different calls. (Deterministic calls would hide a
// zombie: the FSM answers the second copy of a call from the first one's
// stored response, whichever epoch sent it.)
const zombieProgram = `
import os, time
from kappa import checkpoint, current_task, spawn, wait

def leaf(x):
    return x

def handler(event, context):
    checkpoint()
    time.sleep(event["sleep"])
    token = int.from_bytes(os.urandom(4), "big")
    drawn_by = current_task().attempt  # checkpointed with the spawn below
    got = wait(spawn(leaf, (token,)))[0]
    return [token, got, drawn_by]
`

// runZombie stops the job's lambda while it sleeps, moves leadership (the
// new leader, not invoking it, relaunches the task when its lease runs out),
// and resumes the stopped worker right after the relaunch, while the new
// invocation sleeps: the zombie makes its call first.
func runZombie(t *testing.T, unsafe bool) *wire.JobStatus {
	opts := harness.Options{Nodes: 3, LambdaTimeout: time.Minute}
	if unsafe {
		t.Setenv(harness.UnsafeEnv, "1")
		opts.ExtraServerArgs = []string{"--unsafe-test-fault", "no-fencing"}
	}
	c := harness.Start(t, opts)
	job := c.Submit(zombieProgram, `{"sleep": 8}`, "zombie", 0)
	status := func() *wire.JobStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := c.Client().Job(ctx, job, false)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor := func(what string, ok func(*wire.JobStatus) bool) {
		deadline := time.Now().Add(time.Minute)
		for !ok(status()) {
			if time.Now().After(deadline) {
				t.Fatalf("j%d: no %s within a minute: %v", job, what, status())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("checkpoint", func(s *wire.JobStatus) bool { return s.GetCheckpoints() >= 1 })
	w, err := c.LambdaWorkers()
	if err != nil {
		t.Fatal(err)
	}
	workers := w.ServingPIDs
	if len(workers) != 1 {
		t.Fatalf("want the job's one lambda worker inside an invocation, found %v", workers)
	}
	if err := syscall.Kill(workers[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !harness.Stopped(workers[0]); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d did not stop", workers[0])
		}
	}
	defer syscall.Kill(workers[0], syscall.SIGCONT)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	r, err := c.Client().TransferLeader(ctx, "")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	// Resume once the relaunch has claimed the task (RUNNING) and sleeps.
	waitFor("relaunch", func(s *wire.JobStatus) bool { return s.GetRelaunches() >= 1 && s.GetTasksRunning() >= 1 })
	syscall.Kill(workers[0], syscall.SIGCONT)
	t.Logf("worker %d stopped, leader moved to %s, task relaunched; worker resumed as a zombie", workers[0], r.GetLeaderId())
	return c.WaitJob(job, 2*time.Minute)
}

// finisher checks that the job ended with one execution's token passed
// through the child unchanged, and returns which attempt (claim) of the
// root task drew the token: whose spawn was applied.
func finisher(t *testing.T, st *wire.JobStatus) int {
	var r []int
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || json.Unmarshal([]byte(st.GetResultJson()), &r) != nil || len(r) != 3 || r[0] != r[1] {
		t.Fatalf("job %v %s %s, want SUCCEEDED [token, token, drawn_by]", st.GetState(), st.GetResultJson(), st.GetError())
	}
	return r[2]
}

// With fencing the zombie is refused at its first call after the
// relaunch: the relaunch's (attempt 2's) call is the one applied.
func TestZombieLambdaFenced(t *testing.T) {
	st := runZombie(t, false)
	if a := finisher(t, st); a != 2 {
		t.Errorf("fenced: attempt %d's spawn was applied, want the relaunch's (2)", a)
	}
}

// Without fencing the zombie acts: it resumes before its relaunch (which
// sleeps) and its spawn, with its own token, is applied although it is
// superseded (attempt 1); the job goes on from the zombie's checkpoint. The pipeline, effects and tree checkers cannot see
// this, because the task's seq and call digest still apply one call per
// seq: the relaunch's calls at seqs the zombie took are refused (BAD_SEQ,
// NONDETERMINISTIC_REPLAY) or find the job finished, so the applied history
// is that of one execution and the job's result is consistent. Only whose
// call was applied shows the broken fence.
func TestUnsafeNoFencingZombieActs(t *testing.T) {
	st := runZombie(t, true)
	if a := finisher(t, st); a != 1 {
		t.Errorf("no-fencing: attempt %d's spawn was applied, want the superseded zombie's (1)", a)
	}
}
