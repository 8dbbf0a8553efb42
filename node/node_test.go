package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

const prog = "def handler(event, context):\n    return 1\n"

func TestYieldRelaunchesWithNextEpochAndStoredResponse(t *testing.T) {
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		g := w.claim()
		switch w.spec.Epoch {
		case 1:
			if g.GetSeq() != 0 || g.GetCheckpointKey() != "" || !g.GetRoot() || string(g.GetEventJson()) != "{}" {
				t.Errorf("first grant %v", g)
			}
			w.mustCall(checkpointReq())
			w.mustCall(yieldReq())
		case 2:
			if g.GetSeq() != 2 || g.GetCheckpointKey() != "jobs/j1/t1/e1-s2.ckpt" || g.GetLastResponse().GetAck() == nil {
				t.Errorf("relaunch must resume from the yield's checkpoint with its response: %v", g)
			}
			w.mustCall(exitReq("42"))
		}
		return lambda.OK
	}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	st := awaitJob(t, c, submit(t, c, prog), 20*time.Second)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "42" {
		t.Fatalf("job %v", st)
	}
	if st.GetLaunches() != 2 || st.GetMaxEpoch() != 2 || st.GetYields() != 1 || st.GetCheckpoints() != 2 {
		t.Fatalf("counters %v", st)
	}
}

func TestCommittedResponseLostWorkerDiesRelaunchGetsIt(t *testing.T) {
	inv := &scriptedInvoker{t: t}
	var spawned uint64
	inv.script = func(w *fakeWorker) lambda.Outcome {
		g := w.claim()
		switch {
		case w.spec.Task == 1 && w.spec.Epoch == 1:
			w.mustCall(checkpointReq())
			// The spawn commits, but its response never reaches the worker:
			// the lambda dies without acting on it.
			resp := w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Spawn{Spawn: &wire.SpawnOp{
				Children: []*wire.ChildSpec{{Start: &wire.Value{Where: &wire.Value_Inline{Inline: []byte("c")}}}}}}})
			spawned = resp.GetSpawned().GetTaskIds()[0]
			return lambda.Crash
		case w.spec.Task == 1:
			if g.GetSeq() != 2 || g.GetLastResponse().GetSpawned().GetTaskIds()[0] != spawned {
				t.Errorf("the relaunch must get the stored spawn response: %v", g)
			}
			if w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Wait{Wait: &wire.WaitOp{Futures: []uint64{spawned}}}}).GetBlocked() != nil {
				w.pollUntilReady()
			}
			w.mustCall(exitReq("1"))
		default:
			w.mustCall(exitReq("2"))
		}
		return lambda.OK
	}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, prog)
	st := awaitJob(t, c, job, 20*time.Second)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetTasksTotal() != 2 {
		t.Fatalf("the spawn must have applied exactly once: %v", st)
	}
	assertAuditClean(t, c, job)
}

// assertAuditClean checks, from the FSM, that every task applied each of
// its calls exactly once, without gaps.
func assertAuditClean(t *testing.T, c wire.ClientServiceClient, job uint64) {
	t.Helper()
	a, err := c.AuditJob(context.Background(), &wire.AuditJobRequest{JobId: job})
	if err != nil {
		t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(a); len(problems) > 0 {
		t.Fatalf("audit of j%d: %v", job, problems)
	}
}

func TestSupersededCallGetsPreciseErrorAndReason(t *testing.T) {
	inv := &scriptedInvoker{t: t}
	var old *fakeWorker
	inv.script = func(w *fakeWorker) lambda.Outcome {
		w.claim()
		if w.spec.Epoch == 1 {
			w.mustCall(checkpointReq())
			old = w
			return lambda.Timeout
		}
		// The epoch-1 lambda is still alive somewhere and calls again.
		var md metadata.MD
		_, err := w.c.Call(context.Background(), &wire.CallRequest{Ref: old.ref, Seq: 2, CheckpointKey: "jobs/j1/t1/e1-s2.ckpt",
			Op: &wire.CallRequest_Checkpoint{Checkpoint: &wire.CheckpointOp{}}}, grpc.Trailer(&md))
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "superseded") ||
			!strings.Contains(err.Error(), "current epoch is 2") || md.Get(reasonKey)[0] != "SUPERSEDED" {
			t.Errorf("stale call: %v (reason %v)", err, md.Get(reasonKey))
		}
		_, err = w.c.Heartbeat(context.Background(), &wire.HeartbeatRequest{Ref: old.ref})
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("stale heartbeat: %v", err)
		}
		w.mustCall(exitReq("3"))
		return lambda.OK
	}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	if st := awaitJob(t, c, submit(t, c, prog), 20*time.Second); st.GetResultJson() != "3" {
		t.Fatalf("job %v", st)
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome { return lambda.OK }}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	_, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "x", RequestId: 1, ProgramBundle: []byte("junk")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "not a zip") {
		t.Fatalf("junk bundle: %v", err)
	}
	_, err = c.GetJob(context.Background(), &wire.GetJobRequest{JobId: 77})
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "job j77 does not exist") {
		t.Fatalf("unknown job: %v", err)
	}
	tc := wire.NewTaskServiceClient(dial(t, n))
	if _, err := tc.Call(context.Background(), &wire.CallRequest{Seq: 1}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("call without identity: %v", err)
	}
	_, err = tc.Claim(context.Background(), &wire.ClaimRequest{JobId: 9, TaskId: 1, Epoch: 1, Claim: "x"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "task credential does not match job 9 task 1 epoch 1") {
		t.Fatalf("claim of unknown job: %v", err)
	}
}

func TestRestartFromDataDirKeepsStateAndSnapshots(t *testing.T) {
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		w.claim()
		for i := 0; i < 5; i++ {
			w.mustCall(checkpointReq())
		}
		w.mustCall(exitReq(`"done"`))
		return lambda.OK
	}
	dir := t.TempDir()
	n := testNode(t, inv, dir, func(c *Config) { c.Raft.SnapshotThreshold = 4; c.Raft.TrailingLogs = 2 })
	c := clientFor(t, n)
	for i := 0; i < 3; i++ {
		awaitJob(t, c, submit(t, c, prog), 20*time.Second)
	}
	if err := n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	before, _ := c.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
	n.Close()

	n2 := testNode(t, inv, dir)
	defer n2.Close()
	c2 := clientFor(t, n2)
	var after *wire.ClusterStatusResponse
	nodetest.Eventually(t, 10*time.Second, "catching up to the applied index before the restart", func() bool {
		after, _ = c2.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
		return after.GetAppliedIndex() >= before.GetAppliedIndex()
	})
	if after.GetJobs() != 3 {
		t.Fatalf("jobs after restart: %d", after.GetJobs())
	}
	st, err := c2.GetJob(context.Background(), &wire.GetJobRequest{JobId: 2})
	if err != nil || st.GetResultJson() != `"done"` {
		t.Fatalf("job 2 after restart: %v %v", st, err)
	}
	// The restored state equals the state before the restart (the restart
	// re-applies entries after the snapshot, so compare at equal index).
	if after.GetAppliedIndex() == before.GetAppliedIndex() && after.GetStateHash() != before.GetStateHash() {
		t.Fatalf("state hash changed across restart: %s vs %s", before.GetStateHash(), after.GetStateHash())
	}
}
