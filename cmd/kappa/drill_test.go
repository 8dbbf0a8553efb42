package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/cmd/kappa/internal/drill"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// drillReport runs `kappa drill -o json` with env and decodes its report.
func drillReport(t *testing.T, env []string, args ...string) (drill.Report, result) {
	t.Helper()
	r := kappaEnv(t, env, append([]string{"drill", "-o", "json", "--recovery", "45s"}, args...)...)
	var rep drill.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("drill printed no JSON report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
	return rep, r
}

// The drill on a 3-node dev cluster: every fault, the exit one included
// (dev-cluster starts the exited node again), passes, with a new leader
// where the fault moves leadership and every task confirmed after it.
func TestDrillPassesOnDevCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dev cluster")
	}
	base := 20000 + (os.Getpid()+7000)%20000
	env, stop := devCluster(t, t.TempDir(), base)
	waitMembers(t, env, stop)
	if r := kappaEnv(t, env, "drill", "--dry-run", "--no-supervisor"); r.code != 0 ||
		!strings.Contains(r.stdout, "exit: skipped") || !strings.Contains(r.stdout, "step-down: submit a canary") || !strings.Contains(r.stdout, "Nothing was done") {
		t.Fatalf("dry run: %+v", r)
	}
	rep, r := drillReport(t, env)
	t.Logf("drill report:\n%s\n%s", r.stdout, r.stderr)
	if r.code != 0 || !rep.Pass {
		t.Fatalf("drill failed (exit %d):\n%s\n%s\ndev-cluster:\n%s", r.code, r.stdout, r.stderr, stop())
	}
	if len(rep.Faults) != len(drill.Faults) {
		t.Fatalf("report has %d faults, want %d", len(rep.Faults), len(drill.Faults))
	}
	for _, f := range rep.Faults {
		moves := f.Fault == drill.StepDown || f.Fault == drill.Transfer || f.Fault == drill.Exit
		switch {
		case f.Result != "PASS":
			t.Errorf("%s: %s %v", f.Fault, f.Result, f.Problems)
		case moves && (f.NewLeaderMs <= 0 || f.LeaderAfter == f.LeaderBefore):
			t.Errorf("%s: leadership did not move: %+v", f.Fault, f)
		case f.TasksConfirmedMs < 0:
			t.Errorf("%s: no time to tasks confirmed: %+v", f.Fault, f)
		case f.Fault == drill.Exit && f.NodeBackMs <= 0:
			t.Errorf("exit: the node's return was not measured: %+v", f)
		}
	}
	if rep.Replicas.Result != "PASS" {
		t.Errorf("replicas: %+v", rep.Replicas)
	}
}

// With dedup off (an unsafe test switch) and workers re-sending committed
// calls, the drill fails and names what broke: calls applied twice in the
// audit, and the canary's items or effects doubled.
func TestDrillFailsWithoutDedup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	t.Setenv("KAPPA_UNSAFE_TEST", "1")
	t.Setenv("KAPPA_TEST_RESEND_CALLS", "0.3") // inherited by lambda-local's workers
	lambdaAddr, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, proccluster.Options{Nodes: 3, ServerArgs: []string{"--unsafe-test-fault", "no-dedup"},
		LambdaLocal: proccluster.LambdaLocal{Addr: lambdaAddr}})
	env := []string{"KAPPA_CLUSTER=" + strings.Join(c.Addrs(), ","), "KAPPA_CERTS_DIR=" + c.CertsDir()}
	rep, r := drillReport(t, env, "--faults", "kill-lambdas")
	t.Logf("drill report:\n%s\n%s", r.stdout, r.stderr)
	if r.code != 1 || rep.Pass {
		t.Fatalf("the drill passed a cluster without dedup (exit %d)", r.code)
	}
	problems := strings.Join(rep.Faults[0].Problems, "\n")
	if rep.Faults[0].Result != "FAIL" || !strings.Contains(problems, "audit") {
		t.Fatalf("kill-lambdas does not name the audit's doubled calls: %+v", rep.Faults[0])
	}
	if !strings.Contains(r.stderr, "drill failed: kill-lambdas") {
		t.Fatalf("the exit message does not name the failed fault: %s", r.stderr)
	}
}

// A node told to exit refuses when the voters left would not make a
// quorum, and only an admin may tell it (or probe it).
func TestDrillExitRefusedBelowQuorumAndForNonAdmins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := startCluster(t, proccluster.Options{Nodes: 3})
	conn, err := c.Client().Conn(c.Nodes[0].APIAddr)
	if err != nil {
		t.Fatal(err)
	}
	readerDir, err := c.IssueClient("watcher", tlsconf.RoleReader)
	if err != nil {
		t.Fatal(err)
	}
	asReader, err := c.DialAs(readerDir)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := kappaclient.New(c.Addrs(), asReader)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rconn, err := reader.Conn(c.Nodes[0].APIAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := wire.NewDrillServiceClient(rconn).InjectFault(ctx, &wire.InjectFaultRequest{Fault: wire.Fault_FAULT_EXIT}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a reader told a node to exit: %v", err)
	}
	if _, err := wire.NewDrillServiceClient(rconn).Probe(ctx, &wire.ProbeRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a reader probed a node for a drill: %v", err)
	}
	c.Kill(c.Nodes[2])
	_, err = wire.NewDrillServiceClient(conn).InjectFault(ctx, &wire.InjectFaultRequest{Fault: wire.Fault_FAULT_EXIT})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "below its quorum of 2") || !strings.Contains(err.Error(), c.Nodes[2].ID) {
		t.Fatalf("exit with a voter down: %v", err)
	}
	if err := c.WaitExit(c.Nodes[0], 500*time.Millisecond); err == nil || !c.Nodes[0].Running() {
		t.Fatalf("the node exited anyway: %v", err)
	}
}
