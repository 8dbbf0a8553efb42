package node

import (
	"context"
	"fmt"
	"testing"
	"time"

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
		w.t.Errorf("deferred claim: %v", err)
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
