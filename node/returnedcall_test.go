package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// returnCall makes the invocation return req (its first call, with the
// launch's claim under nonce) instead of sending it, as the Python worker
// does when it started from the payload's grant.
func returnCall(w *fakeWorker, nonce string, req *wire.CallRequest) {
	g := payloadGrant(w.t, w.spec)
	if g == nil {
		w.t.Error("no grant in the payload")
		return
	}
	req.Ref = &wire.TaskRef{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch, Claim: nonce}
	req.Seq = g.GetSeq() + 1
	req.ClaimInvocation = w.spec.Invocation
	b, _ := proto.Marshal(req)
	w.result, _ = json.Marshal(map[string]any{"status": "exited", "call": base64.StdEncoding.EncodeToString(b)})
}

// runReturning runs one job whose root's invocations do what script says,
// and returns its final status and how many invocations it took.
func runReturning(t *testing.T, script func(w *fakeWorker, n *Node, c wire.ClientServiceClient), tweak ...func(*Config)) (*wire.JobStatus, int32) {
	t.Helper()
	var n *Node
	var c wire.ClientServiceClient
	var calls atomic.Int32
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		calls.Add(1)
		script(w, n, c)
		return lambda.OK
	}}
	n = testNode(t, inv, t.TempDir(), tweak...)
	t.Cleanup(func() { n.Close() })
	c = clientFor(t, n)
	job := submit(t, c, "def handler(e, c):\n    return 'ok'\n")
	return awaitJob(t, c, job, 20*time.Second), calls.Load()
}

// The leader commits the exit an invocation returned: the job succeeds with
// it, the task claimed once, and no end of the invocation is committed
// (the task had moved on).
func TestTheLeaderCommitsAReturnedExit(t *testing.T) {
	var n0 *Node
	st, calls := runReturning(t, func(w *fakeWorker, n *Node, _ wire.ClientServiceClient) {
		n0 = n
		returnCall(w, "only", exitReq(`"returned"`))
	})
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"returned"` || calls != 1 {
		t.Fatalf("job %v after %d invocations", st, calls)
	}
	n0.replica.read(func(m *fsm.Machine) {
		task := m.Task(fsm.TaskKey{Job: st.GetJobId(), Task: fsm.RootTask})
		if task.GetClaims() != 1 || task.GetClaim() != "only" || task.GetLastOutcome() != "" {
			t.Errorf("root after its returned exit: claims %d, claim %q, last outcome %q", task.GetClaims(), task.GetClaim(), task.GetLastOutcome())
		}
	})
}

// Two deliveries of one launch (an SDK retry): one claimed with its exit
// sent over the task API; the call the other returns loses to it.
func TestAReturnedCallLosesToAnotherDeliverysClaim(t *testing.T) {
	st, _ := runReturning(t, func(w *fakeWorker, _ *Node, _ wire.ClientServiceClient) {
		first := &fakeWorker{t: t, spec: w.spec, c: w.c}
		if err := exitWithClaim(first, payloadGrant(t, w.spec), "first", `"first"`); err != nil {
			t.Errorf("the first delivery's exit: %v", err)
		}
		returnCall(w, "second", exitReq(`"second"`))
	})
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"first"` {
		t.Fatalf("job %v", st)
	}
}

// A call returned after the job was cancelled changes nothing.
func TestAReturnedCallAfterCancelIsRefused(t *testing.T) {
	st, _ := runReturning(t, func(w *fakeWorker, _ *Node, c wire.ClientServiceClient) {
		if _, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{JobId: w.spec.Job, Reason: "test", ClientId: "test", RequestId: 1}); err != nil {
			t.Errorf("cancel: %v", err)
		}
		returnCall(w, "late", exitReq(`"late"`))
	})
	if st.GetState() != wire.JobState_JOB_FAILED || st.GetResultJson() != "" {
		t.Fatalf("cancelled job %v", st)
	}
}

// Only the launch's own storeless exit or fail is taken from a result:
// another epoch's call, a call without the claim's invocation or one that
// names a store key is ignored, and the task is relaunched as when a
// lambda returns without finishing it.
func TestOnlyTheLaunchsStorelessFirstCallIsTakenFromAResult(t *testing.T) {
	bad := map[string]func(r *wire.CallRequest){
		"another epoch":       func(r *wire.CallRequest) { r.Ref.Epoch++ },
		"another invocation":  func(r *wire.CallRequest) { r.ClaimInvocation = "someone-else" },
		"a store key":         func(r *wire.CallRequest) { r.CheckpointKey = "j1/t1/e1-s1" },
		"not an exit or fail": func(r *wire.CallRequest) { r.Op = yieldReq().Op },
	}
	for name, spoil := range bad {
		t.Run(name, func(t *testing.T) {
			// The leader's own check, before the FSM's claim rule.
			k, inv := fsm.TaskKey{Job: 1, Task: 1}, "inv"
			req := exitReq(`"bad"`)
			req.Ref, req.Seq, req.ClaimInvocation = &wire.TaskRef{JobId: 1, TaskId: 1, Epoch: 1, Claim: "n"}, 1, inv
			b, _ := proto.Marshal(req)
			if _, err := returnedCall(k, 1, inv, base64.StdEncoding.EncodeToString(b)); err != nil {
				t.Fatalf("the good call refused: %v", err)
			}
			spoil(req)
			b, _ = proto.Marshal(req)
			if _, err := returnedCall(k, 1, inv, base64.StdEncoding.EncodeToString(b)); err == nil {
				t.Fatal("accepted")
			}

			st, calls := runReturning(t, func(w *fakeWorker, _ *Node, _ wire.ClientServiceClient) {
				if w.spec.Epoch > 1 {
					returnCall(w, "good", exitReq(`"good"`))
					return
				}
				req := exitReq(`"bad"`)
				returnCall(w, "bad", req)
				spoil(req)
				b, _ := proto.Marshal(req)
				w.result, _ = json.Marshal(map[string]string{"call": base64.StdEncoding.EncodeToString(b)})
			})
			if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"good"` || calls != 2 {
				t.Fatalf("job %v after %d invocations", st, calls)
			}
		})
	}
}

// A returned exit that a limit refuses fails the task with the reason, as
// the worker does when the task API refuses its exit.
func TestARefusedReturnedExitFailsTheTask(t *testing.T) {
	big := `"` + strings.Repeat("x", 40<<10) + `"`
	st, calls := runReturning(t, func(w *fakeWorker, _ *Node, _ wire.ClientServiceClient) {
		req := exitReq(big)
		req.GetExit().ResultJson = `"small"`
		returnCall(w, "n", req)
	}, func(c *Config) { c.Limits.InlineValueBytes = 16 << 10 })
	if st.GetState() != wire.JobState_JOB_FAILED || calls != 1 || !strings.Contains(st.GetError(), "exit refused by the coordinator") ||
		!strings.Contains(st.GetError(), "max-inline-value-bytes") {
		t.Fatalf("job %v after %d invocations", st, calls)
	}
}
