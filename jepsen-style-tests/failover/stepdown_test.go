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
// still in place. In namespaces the cut leader loses the whole host
// (lambdas, clients, store); through the proxy only its lambda link, so
// nothing but the platform's reach can have moved leadership.
func TestLeaderCutFromLambdasStepsDown(t *testing.T) {
	if !harness.NetNSAvailable() {
		t.Skip("needs network namespaces (root, iproute2); TestLeaderCutFromLambdasStepsDownProxy runs without them")
	}
	leaderCutFromLambdasStepsDown(t, harness.NewNetNS(t, 3))
}

func TestLeaderCutFromLambdasStepsDownProxy(t *testing.T) {
	leaderCutFromLambdasStepsDown(t, harness.NewProxy(t, 3))
}

func leaderCutFromLambdasStepsDown(t *testing.T, net harness.Network) {
	c := harness.Start(t, harness.Options{Nodes: 3, Net: net, LambdaTimeout: 5 * time.Second,
		ExtraServerArgs: []string{"--lambda-unreachable-stepdown", "5s"}})
	old := c.WaitLeader(30 * time.Second)
	if err := net.Block(old.Index, harness.Lambdas); err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %s cut from the lambda platform (%s network)", old.ID, net.Mode())
	job := c.Submit(doubler, `{"value": 21}`, "cut-leader", 0)
	// Bound: 5 s of failed attempts, then the new leader waits out the lease
	// of the task the old one launched (8 s) and runs it; generous for a
	// loaded machine. Without the step-down the job never ends while cut.
	st := c.WaitJob(job, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || strings.TrimSpace(st.GetResultJson()) != "42" {
		t.Fatalf("job j%d under the cut: %v %q, want SUCCEEDED \"42\"", job, st.GetState(), st.GetResultJson())
	}
	now := c.Leader()
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
