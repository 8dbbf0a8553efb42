// Package recovery runs the disaster-recovery procedures of
// docs/operations.md as an operator would, on real `kappa server`
// processes with a separate `kappa lambda-local` and real Python workers:
// a backup of a cluster with a job in flight restored after every data dir
// is lost, a cluster that lost two of three data dirs recovered from the
// survivor, the store check, and dead-server cleanup.
package recovery

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// The workload: the root task spawns `parts` children; each crosses
// several one-second lambdas, checkpointing each step, and returns a sum
// of squares; the root adds them up.
const program = `
import time
from kappa import checkpoint, spawn, wait

def part(i, steps):
    total = 0
    for s in range(steps):
        time.sleep(0.2)
        total += (i * steps + s) ** 2
        checkpoint()
    return total

def handler(event, context):
    futures = [spawn(part, (i, event["steps"])) for i in range(event["parts"])]
    return sum(wait(*futures))
`

const parts, steps = 16, 10

func want() string {
	total := 0
	for i := 0; i < parts*steps; i++ {
		total += i * i
	}
	return fmt.Sprint(total)
}

type drill struct {
	t   *testing.T
	c   *harness.Cluster
	job uint64
}

// startDrill starts a three-node cluster and the workload, and waits until
// some of it is done, so what follows hits it mid-job.
func startDrill(t *testing.T) *drill {
	c := harness.Start(t, harness.Options{Nodes: 3, LambdaTimeout: time.Second, Concurrency: 24})
	job := nodetest.Submit(t, c.Client(), program, fmt.Sprintf(`{"parts": %d, "steps": %d}`, parts, steps), "recovery", 0)
	d := &drill{t: t, c: c, job: job}
	nodetest.Eventually(t, 3*time.Minute, "three parts done", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := c.Client().Job(ctx, job, true)
		if err == nil && st.GetState() != wire.JobState_JOB_RUNNING {
			t.Fatalf("the job ended before the disaster: %v", st)
		}
		return err == nil && st.GetTasksDone() >= 3
	})
	d.t.Log("three parts done")
	return d
}

// kappa runs the CLI and returns its output; the test fails on an exit
// code other than code.
func (d *drill) kappa(code int, args ...string) string {
	d.t.Helper()
	out, got := harness.RunKappa(d.t, 2*time.Minute, args...)
	if got != code {
		d.t.Fatalf("kappa %s: exit %d, want %d:\n%s", strings.Join(args, " "), got, code, out)
	}
	return out
}

func (d *drill) cluster() string { return strings.Join(d.addrs(), ",") }

func (d *drill) addrs() []string {
	var out []string
	for _, n := range d.c.Nodes {
		out = append(out, n.APIAddr)
	}
	return out
}

// rejoin starts the wiped nodes (they join the first node) and checks
// that the job finishes right, every call applied once, and the replicas
// agree.
func (d *drill) rejoin() {
	d.t.Helper()
	d.c.WaitLeader(30 * time.Second)
	for _, n := range d.c.Nodes[1:] {
		d.c.Restart(n)
	}
	d.c.WaitMembers(3, time.Minute)
	d.t.Log("the wiped nodes joined")
	st := nodetest.WaitJob(d.t, d.c.Client(), d.job, 5*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want() || st.GetTasksDone() != parts+1 {
		d.t.Fatalf("job after the recovery: %v, want result %s", st, want())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	audit, err := d.c.Client().Audit(ctx, d.job)
	if err != nil {
		d.t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(audit); len(problems) > 0 {
		d.t.Fatalf("audit: %s", strings.Join(problems, "; "))
	}
	d.c.Converged(time.Minute)
	d.t.Logf("job done: %d launches, %d relaunches, %d calls", st.GetLaunches(), st.GetRelaunches(), st.GetRpcs())
}

// historyTells checks that the job's history (kappa jobs events) tells
// the new timeline, how it came, and its tasks' relaunches for it.
func (d *drill) historyTells(how string) {
	d.t.Helper()
	out := d.kappa(0, "jobs", "events", fmt.Sprintf("j%d", d.job), "--cluster", d.cluster(), "--certs-dir", d.c.CertsDir())
	if !strings.Contains(out, "running tasks relaunched: "+how) || !strings.Contains(out, "after a restore or a recovery from lost quorum") {
		d.t.Fatalf("the job's history does not tell the new timeline (%s):\n%s", how, out)
	}
}

var stateHashLine = regexp.MustCompile(`(?m)^state hash\s+([0-9a-f]{64})$`)

// A backup of a cluster with a job in flight; every data dir lost; the
// backup restored on one node, the others join it: the restored state has
// the backup's hash and the job finishes with the right result. The
// lambdas of the lost cluster still run meanwhile.
func TestBackupRestoredAfterEveryDataDirIsLost(t *testing.T) {
	d := startDrill(t)
	file := filepath.Join(t.TempDir(), "cluster.backup")
	saved := d.kappa(0, "backup", "save", file, "--cluster", d.cluster(), "--certs-dir", d.c.CertsDir())
	inspected := d.kappa(0, "backup", "inspect", file)
	m := stateHashLine.FindStringSubmatch(inspected)
	if m == nil || !strings.Contains(saved, m[1]) || !strings.Contains(inspected, "(1 running)") || !strings.Contains(inspected, "sha256 matches") {
		t.Fatalf("save printed:\n%s\ninspect printed:\n%s", saved, inspected)
	}
	hash := m[1]
	d.kappa(0, "backup", "verify", file, "--store", d.c.Store())
	if out := d.kappa(1, "backup", "verify", file, "--store", "file://"+t.TempDir()); !strings.Contains(out, "missing  j1  programs/") {
		t.Fatalf("verify against an empty store:\n%s", out)
	}

	for _, n := range d.c.Nodes {
		d.c.Wipe(n)
	}
	t.Log("wiped every node")
	first := d.c.Nodes[0]
	d.c.StartAlone(first, "--restore", file, "--force-new-cluster")
	d.c.WaitLeader(30 * time.Second)
	t.Log("restored")
	if log := d.c.Log(first); !strings.Contains(log, "state_hash="+hash) || !strings.Contains(log, "matches_backup=true") {
		t.Fatalf("the restored node did not report the backup's state hash %s:\n%s", hash, log)
	}
	nodetest.Eventually(t, 30*time.Second, "the lost cluster's members forgotten", func() bool {
		return strings.Contains(d.c.Log(first), `forgot the lost cluster's members; they join again with empty data dirs" node=n1 members="[n2 n3]"`)
	})
	d.rejoin()
	d.historyTells("restored from a backup of cluster")
}

// Two of three data dirs lost: the survivor, restarted, knows no leader
// and `kappa status` says it cannot tell what it lacks; restarted with
// --force-new-cluster it leads a cluster of its own with everything it
// had, the wiped nodes join it, and the job finishes.
func TestLostQuorumRecoveredFromTheSurvivor(t *testing.T) {
	d := startDrill(t)
	for _, n := range d.c.Nodes {
		d.c.Kill(n)
	}
	for _, n := range d.c.Nodes[1:] {
		d.c.Wipe(n)
	}
	survivor := d.c.Nodes[0]
	d.c.Restart(survivor)
	var status string
	nodetest.Eventually(t, 30*time.Second, "status of the survivor without a leader", func() bool {
		out, _ := harness.RunKappa(t, time.Minute, "status", "--cluster", survivor.APIAddr, "--certs-dir", d.c.CertsDir())
		status = out
		return strings.Contains(out, "no leader; this node has applied")
	})
	if !strings.Contains(status, "it cannot tell whether the cluster has more") {
		t.Fatalf("status of the survivor:\n%s", status)
	}
	t.Logf("status of the survivor:\n%s", status)

	d.c.StartAlone(survivor, "--force-new-cluster")
	d.rejoin()
	d.historyTells("recovered from lost quorum on node " + survivor.ID)
	if log := d.c.Log(survivor); !strings.Contains(log, "recovered from lost quorum") || !strings.Contains(log, "new timeline") {
		t.Fatalf("the survivor's log does not tell the recovery:\n%s", log)
	}
}
