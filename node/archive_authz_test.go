package node

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Once retention moves jobs to the archive, a submitter still reaches its
// own (the owner is read from the archive) and still not another's.
func TestSubmittersReachOnlyTheirOwnArchivedJobs(t *testing.T) {
	dir := t.TempDir()
	file, tokens, _ := tokenFile(t, dir, "alice:submitter", "bob:submitter")
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(exitReq(`"ok"`))
		return lambda.OK
	}}
	n := testNode(t, inv, dir, func(c *Config) {
		c.TokenFile = file
		c.GCInterval, c.Retention = 50*time.Millisecond, 200*time.Millisecond
	})
	defer n.Close()
	as := tokenClients(t, n.APIAddr(), tokens)
	ctx := context.Background()
	mine, theirs := submitAs(t, as["alice"], "alice"), submitAs(t, as["bob"], "bob")
	nodetest.Eventually(t, 20*time.Second, "both jobs archived and forgotten by the cluster", func() bool {
		gone := false
		n.replica.read(func(m *fsm.Machine) { gone = m.Job(mine) == nil && m.Job(theirs) == nil })
		return gone
	})
	st, err := as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: mine})
	if err != nil || !st.GetArchived() || st.GetOwner() != "alice" || st.GetResultJson() != `"ok"` {
		t.Fatalf("alice reading her archived job: %v %v", st, err)
	}
	_, err = as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: theirs})
	wantCode(t, "GetJob of bob's archived job", err, codes.PermissionDenied, `submitter "alice" (token)`,
		"only for jobs it submitted; j2 is not one of them")
	events, err := as["alice"].JobEvents(ctx, &wire.JobEventsRequest{JobId: theirs})
	if err == nil {
		_, err = events.Recv()
	}
	wantCode(t, "JobEvents of bob's archived job", err, codes.PermissionDenied, `submitter "alice" (token)`)
}
