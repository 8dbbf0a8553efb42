package failover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

const doubler = `
def handler(event, context):
    return event["value"] * 2
`

// Found by the Jepsen-style suite: a leader cut off from the lambda
// platform (but not from its followers) kept leadership, so no task ran
// until the link healed. Now it hands leadership over after
// --lambda-unreachable-stepdown, and the job finishes while the cut is
// still in place.
func TestLeaderCutFromLambdasStepsDown(t *testing.T) {
	if !harness.NetNSAvailable() {
		t.Skip("needs network namespaces (root, iproute2) to cut one node from the lambda platform; the proxy network cannot")
	}
	net := harness.NewNetNS(t, 3)
	c := harness.Start(t, harness.Options{Nodes: 3, Net: net, LambdaTimeout: 5 * time.Second,
		ExtraServerArgs: []string{"--lambda-unreachable-stepdown", "5s"}})
	old := c.WaitLeader(30 * time.Second)
	if err := net.Block(old.Index, harness.Host); err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s cut from the host (lambdas, clients, store)", old.ID)
	job := c.Submit(doubler, `{"value": 21}`, "cut-leader", 0)
	// Bound: 5 s of failed attempts, then the new leader waits out the lease
	// of the task the old one launched (8 s) and runs it; generous for a
	// loaded machine. Without the step-down the job never ends while cut.
	st := c.WaitJob(job, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || strings.TrimSpace(st.GetResultJson()) != "42" {
		t.Fatalf("job j%d under the cut: %v %q, want SUCCEEDED \"42\"", job, st.GetState(), st.GetResultJson())
	}
	now := c.Leader() // the cut node cannot answer the host: only another leader shows
	if now == nil || now.ID == old.ID {
		t.Fatalf("the leader after the step-down is %v, want a node other than %s", now, old.ID)
	}
	logText, err := os.ReadFile(filepath.Join(c.Dir(), old.ID+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logText), "cannot reach the lambda platform") {
		t.Errorf("%s's log does not say why it stepped down", old.ID)
	}
	t.Logf("job done under the cut; leader %s → %s", old.ID, now.ID)
}
