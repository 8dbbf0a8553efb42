package node

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// deferredRun is what a worker with a deferred claim does for a trivial
// task: read the grant (no log entry), then exit with the claim. It
// returns the grant and the applied index the read left unchanged.
func deferredRun(w *fakeWorker, n *Node) (grant *wire.ClaimResponse, before, after uint64) {
	w.ref = &wire.TaskRef{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch, Claim: fmt.Sprintf("nonce-%d", w.spec.Epoch)}
	n.replica.read(func(m *fsm.Machine) { before = m.AppliedIndex() })
	g, err := w.c.Claim(context.Background(), &wire.ClaimRequest{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch,
		InvocationId: w.spec.Invocation, Claim: w.ref.Claim, Deferred: true})
	if err != nil {
		w.errorf("deferred claim: %v", err)
		return nil, 0, 0
	}
	n.replica.read(func(m *fsm.Machine) { after = m.AppliedIndex() })
	w.grant, w.seq = g, g.GetSeq()
	req := &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJson: `"ok"`}}}
	if g.GetDeferred() {
		req.ClaimInvocation = w.spec.Invocation
	}
	w.mustCall(req)
	return g, before, after
}

// On a cluster at command version 3 a deferred claim reads the grant
// without a log entry and the exit claims; below it (an older voter) the
// same request claims at once, and the worker learns so from the grant.
func TestADeferredClaimIsReadThenClaimedByTheExit(t *testing.T) {
	for _, capped := range []uint32{0, 2} {
		t.Run(fmt.Sprintf("max command version %d", capped), func(t *testing.T) {
			var n *Node
			type seen struct {
				grant         *wire.ClaimResponse
				before, after uint64
			}
			got := make(chan seen, 1)
			inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
				g, before, after := deferredRun(w, n)
				got <- seen{g, before, after}
				return lambda.OK
			}}
			n = testNode(t, inv, t.TempDir(), func(c *Config) { c.MaxCommandVersion = capped })
			defer n.Close()
			c := clientFor(t, n)
			job := submit(t, c, "def handler(e, c):\n    return 'ok'\n")
			st := awaitJob(t, c, job, 20*time.Second)
			if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != `"ok"` {
				t.Fatalf("job %v", st)
			}
			s := <-got
			wantDeferred := capped == 0
			if s.grant.GetDeferred() != wantDeferred || !s.grant.GetRoot() || s.grant.GetAttempt() != 1 {
				t.Fatalf("grant deferred=%v root=%v attempt=%d, want deferred=%v", s.grant.GetDeferred(), s.grant.GetRoot(), s.grant.GetAttempt(), wantDeferred)
			}
			if wantDeferred != (s.before == s.after) {
				t.Fatalf("applied index %d → %d across the claim (deferred %v)", s.before, s.after, wantDeferred)
			}
			task := func() (claims uint32) {
				n.replica.read(func(m *fsm.Machine) { claims = m.Task(fsm.TaskKey{Job: job, Task: fsm.RootTask}).GetClaims() })
				return claims
			}
			if task() != 1 {
				t.Fatalf("claims %d, want 1", task())
			}
		})
	}
}

// payloadGrant decodes the grant the leader put in the invocation's
// payload (nil without one).
func payloadGrant(t *testing.T, spec InvocationSpec) *wire.ClaimResponse {
	if spec.Grant == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(spec.Grant)
	g := &wire.ClaimResponse{}
	if err == nil {
		err = proto.Unmarshal(b, g)
	}
	if err != nil {
		t.Errorf("the payload's grant does not decode: %v", err)
		return nil
	}
	return g
}

// exitWithClaim is a worker that starts from the payload's grant, without
// a Claim: its exit carries the claim, under its own nonce.
func exitWithClaim(w *fakeWorker, g *wire.ClaimResponse, nonce, result string) error {
	w.ref = &wire.TaskRef{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch, Claim: nonce}
	w.grant, w.seq = g, g.GetSeq()
	req := exitReq(result)
	req.ClaimInvocation = w.spec.Invocation
	_, err := w.call(req)
	return err
}

// At command version 3 the launch's payload carries the grant a Claim
// would read (keys and limits included), so a worker starts without that
// round trip; the claim still travels with the exit, so two deliveries of
// the launch (an SDK retry) cannot both finish the task, and a cancelled
// job refuses it. Below version 3 the payload has no grant.
func TestTheLaunchPayloadCarriesTheGrant(t *testing.T) {
	for _, capped := range []uint32{0, 2} {
		t.Run(fmt.Sprintf("max command version %d", capped), func(t *testing.T) {
			var n *Node
			var c wire.ClientServiceClient
			inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
				g := payloadGrant(t, w.spec)
				if capped != 0 {
					if g != nil {
						t.Errorf("a grant in the payload below version 3: %v", g)
					}
					deferredRun(w, n)
					return lambda.OK
				}
				if g == nil {
					t.Error("no grant in the payload at version 3")
					return lambda.OK
				}
				read, err := w.c.Claim(context.Background(), &wire.ClaimRequest{JobId: w.spec.Job, TaskId: w.spec.Task,
					Epoch: w.spec.Epoch, InvocationId: w.spec.Invocation, Claim: "reader", Deferred: true})
				if err != nil || !proto.Equal(g, read) || !g.GetDeferred() || len(g.GetJobKeys()) == 0 || g.GetLimits() == nil {
					t.Errorf("payload grant %v\nread grant %v (%v)", g, read, err)
				}
				if string(g.GetEventJson()) == `"cancel"` {
					if _, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{JobId: w.spec.Job, Reason: "test", ClientId: "test", RequestId: 1}); err != nil {
						t.Errorf("cancel: %v", err)
					}
					if err := exitWithClaim(w, g, "after-cancel", `"late"`); status.Code(err) != codes.FailedPrecondition {
						t.Errorf("an exit after the job was cancelled: %v", err)
					}
					return lambda.OK
				}
				dup := &fakeWorker{t: t, spec: w.spec, c: w.c}
				if err := exitWithClaim(w, g, "first", `"first"`); err != nil {
					t.Errorf("the first delivery's exit: %v", err)
				}
				if err := exitWithClaim(dup, g, "second", `"second"`); err == nil {
					t.Error("a second delivery of the launch exited too")
				}
				return lambda.OK
			}}
			n = testNode(t, inv, t.TempDir(), func(cfg *Config) { cfg.MaxCommandVersion = capped })
			defer n.Close()
			c = clientFor(t, n)
			job := submit(t, c, "def handler(e, c):\n    return 'ok'\n")
			st := awaitJob(t, c, job, 20*time.Second)
			want := `"first"`
			if capped != 0 {
				want = `"ok"`
			}
			if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want {
				t.Fatalf("job %v, want result %s", st, want)
			}
			if capped != 0 {
				inv.idle()
				return
			}
			job = submitEvent(t, c, "def handler(e, c):\n    return 'ok'\n", `"cancel"`)
			if st := awaitJob(t, c, job, 20*time.Second); st.GetState() != wire.JobState_JOB_FAILED {
				t.Fatalf("cancelled job %v", st)
			}
			// The job fails as soon as the cancel commits: the worker's
			// late exit is still to be refused.
			inv.idle()
		})
	}
}
