package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// upgradeProgram runs one task per part; each checkpoints (a committed
// call) every 0.2 s until the gate file exists, then computes its share, so
// the job is in flight for as long as the test wants and its result does
// not depend on how long that was.
const upgradeProgram = `import os
import time

from kappa import checkpoint, spawn


def part(i, gate):
    while not os.path.exists(gate):
        time.sleep(0.2)
        checkpoint()
    total = 0
    for k in range(1000 * (i + 1)):
        total += k * k
    return total


def handler(event, context):
    futures = [spawn(part, (i, event["gate"])) for i in range(event["parts"])]
    total = 0
    for f in futures:
        total += f.wait()
        checkpoint()
    return total
`

// upgradeResult is what upgradeProgram returns for parts parts.
func upgradeResult(parts int) int64 {
	var total int64
	for i := 1; i <= parts; i++ {
		n := int64(1000 * i)
		total += (n - 1) * n * (2*n - 1) / 6 // Σ k² for k < n
	}
	return total
}

// previousBuild is the cluster's build before the upgrade.
type previousBuild struct {
	binary  string
	flags   []string // server flags that make it act as the previous build
	command uint32   // the command version it applies
	what    string   // for the test's log
}

// previousRelease is the newest release tag whose source has versions
// (fsm/version.go) with an older command version than this build, TLS
// (transport/tlsconf) and key files (--cluster-key-file), built from the
// tag; without one, this build
// capped to the previous command version (--test-command-version), which
// applies, refuses and reports exactly what a commit with that command
// set would.
func previousRelease(t *testing.T, current string) previousBuild {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	capped := previousBuild{binary: current, flags: []string{"--test-command-version", fmt.Sprint(fsm.CommandVersion - 1)},
		command: fsm.CommandVersion - 1}
	capped.what = fmt.Sprintf("no release tag with an older command version; this build with --test-command-version %d", capped.command)
	out, err := exec.Command("git", "-C", root, "tag", "--list", "--sort=-v:refname").Output()
	if err != nil {
		capped.what = "no git tags readable (" + err.Error() + "); this build with --test-command-version " + fmt.Sprint(capped.command)
		return capped
	}
	versionLine := regexp.MustCompile(`CommandVersion\s+uint32\s*=\s*(\d+)`)
	for _, tag := range strings.Fields(string(out)) {
		src, err := exec.Command("git", "-C", root, "show", tag+":fsm/version.go").Output()
		if err != nil {
			continue // a release from before versions: nothing to upgrade from
		}
		if exec.Command("git", "-C", root, "cat-file", "-e", tag+":transport/tlsconf").Run() != nil {
			continue // a release without TLS cannot join the secure cluster this test starts
		}
		if exec.Command("git", "-C", root, "cat-file", "-e", tag+":checkpoint/keyfile.go").Run() != nil {
			continue // a release without key files does not take the --cluster-key-file every node gets
		}
		m := versionLine.FindSubmatch(src)
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(string(m[1]))
		if uint32(v) >= fsm.CommandVersion {
			continue
		}
		dir := t.TempDir()
		archive := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive %q | tar -x -C %q", root, tag, dir))
		if b, err := archive.CombinedOutput(); err != nil {
			t.Fatalf("unpacking release %s: %v\n%s", tag, err, b)
		}
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "kappa"), "./cmd/kappa")
		build.Dir = dir
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building release %s: %v\n%s", tag, err, b)
		}
		return previousBuild{binary: filepath.Join(dir, "kappa"), command: uint32(v),
			what: fmt.Sprintf("release %s built from its tag (command version %d)", tag, v)}
	}
	return capped
}

// A rolling upgrade from the previous command version with a job in
// flight: followers first, then leadership moves off the last old node and
// it is upgraded too. While any voter is old a version-2 command is
// refused with the versions named; afterwards the cluster's version rises
// by itself and the command works; the job finishes right, its calls were
// applied exactly once, and every replica holds the same state.
func TestRollingUpgradeWithAJobInFlight(t *testing.T) {
	current := nodetest.KappaBinary(t)
	prev := previousRelease(t, current)
	t.Logf("upgrading from: %s", prev.what)
	dir := t.TempDir()
	lambdaAddr, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := proccluster.Start(proccluster.Options{Binary: prev.binary, Dir: dir, Nodes: 3,
		LambdaLocal: proccluster.LambdaLocal{Addr: lambdaAddr, Args: []string{"--lambda-timeout", "4s"}},
		ServerArgs:  append([]string{"--lambda-timeout", "4s", "--worker-heartbeat", "500ms"}, prev.flags...)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(5 * time.Second)
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	cluster := strings.Join(c.Addrs(), ",")
	waitVersions(t, c, prev.command, prev.command)

	const parts = 3
	gate := filepath.Join(dir, "gate")
	job := nodetest.Submit(t, c.Client(), upgradeProgram, fmt.Sprintf(`{"parts": %d, "gate": %q}`, parts, gate), "upgrade", 0)
	nodetest.Eventually(t, time.Minute, "every part running", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Client().Job(ctx, job, false)
		return err == nil && st.GetTasksRunning() >= parts
	})

	// Drain is a command of version 2: from an older cluster it is
	// refused, naming both versions, until the last voter is upgraded.
	// (Version 3 adds no command a client sends: the deferred claims it
	// brings stay off below it, as node/deferred_claim_test.go shows.)
	const drainVersion = 2
	drainRefused := func(when string) {
		t.Helper()
		if prev.command >= drainVersion {
			return
		}
		r := kappa(t, "cluster", "drain", "n1", "--cluster", cluster)
		want := fmt.Sprintf("needs command version %d, but the cluster runs version %d", drainVersion, prev.command)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("%s: drain (a version-%d command) gave exit %d, stderr %q; want a refusal saying %q", when, drainVersion, r.code, r.stderr, want)
		}
	}
	drainRefused("before the upgrade")
	// install stops n (SIGTERM), gives it the new or the previous build and
	// starts it again from its data dir.
	install := func(n *proccluster.Node, newBuild bool) {
		t.Helper()
		if err := c.Terminate(n, time.Minute); err != nil {
			t.Fatalf("stopping %s: %v\n%s", n.ID, err, c.Log(n))
		}
		n.Binary, n.Flags = "", nil // the previous build (Options)
		if newBuild {
			n.Binary = current
			if len(prev.flags) > 0 {
				n.Flags = []string{"--test-command-version", "0"} // this build's own
			}
		}
		if err := c.Restart(n); err != nil {
			t.Fatal(err)
		}
	}
	upgrade := func(n *proccluster.Node) {
		t.Helper()
		install(n, true)
		if err := c.WaitCaughtUp(n, time.Minute); err != nil {
			t.Fatal(err)
		}
		st, err := c.Status(n, 5*time.Second)
		if err != nil || st.GetVersion().GetCommandVersion() != fsm.CommandVersion {
			t.Fatalf("%s after its upgrade reports %v (%v), want command version %d", n.ID, st.GetVersion(), err, fsm.CommandVersion)
		}
		t.Logf("upgraded %s", n.ID)
	}
	oldLeader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rolledBack := false
	for _, n := range c.Nodes {
		if n == oldLeader {
			continue
		}
		upgrade(n)
		drainRefused("with " + oldLeader.ID + " not upgraded yet")
		if !rolledBack {
			// Before the cluster's version rises an upgraded node can go
			// back to the previous build: nothing newer was written.
			rolledBack = true
			install(n, false)
			if err := c.WaitCaughtUp(n, time.Minute); err != nil {
				t.Fatalf("rolling %s back: %v", n.ID, err)
			}
			t.Logf("rolled %s back to the previous build", n.ID)
			upgrade(n)
		}
	}
	if r := kappa(t, "cluster", "transfer-leader", "--cluster", cluster); r.code != 0 || strings.Contains(r.stdout, "leader is now "+oldLeader.ID) {
		t.Fatalf("moving leadership off %s: %+v", oldLeader.ID, r)
	}
	upgrade(oldLeader)

	// Every voter applies the new version: the leader raises the cluster's.
	waitVersions(t, c, fsm.CommandVersion, fsm.CommandVersion)
	if r := kappa(t, "cluster", "members", "--cluster", cluster); r.code != 0 || strings.Count(r.stdout, fmt.Sprintf("(cmd %d)", fsm.CommandVersion)) != 3 {
		t.Fatalf("members after the upgrade should show every node at command version %d: %+v", fsm.CommandVersion, r)
	}
	if r := kappa(t, "status", "--cluster", cluster); r.code != 0 || !strings.Contains(r.stdout, "CLUSTER CMD") {
		t.Fatalf("status: %+v", r)
	}
	leader := c.Leader()
	if leader == nil {
		t.Fatal("no leader after the upgrade")
	}
	if r := kappa(t, "cluster", "drain", leader.ID, "--cluster", cluster); r.code != 0 || !strings.Contains(r.stdout, "drained; leader is n") || strings.Contains(r.stdout, "leader is "+leader.ID) {
		t.Fatalf("drain after the upgrade: %+v", r)
	}
	if r := kappa(t, "cluster", "undrain", leader.ID, "--cluster", cluster); r.code != 0 {
		t.Fatalf("undrain: %+v", r)
	}

	// The job was in flight the whole time: it cannot finish before the gate.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	st, err := c.Client().Job(ctx, job, false)
	cancel()
	if err != nil || st.GetState() != wire.JobState_JOB_RUNNING {
		t.Fatalf("the job should still run before its gate opens: %v %v", st, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st = nodetest.WaitJob(t, c.Client(), job, 2*time.Minute)
	if want := fmt.Sprint(upgradeResult(parts)); st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want {
		t.Fatalf("job after the upgrade: %v %q (error %q), want %s", st.GetState(), st.GetResultJson(), st.GetError(), want)
	}
	checkAuditAndHashes(t, c, job)

	// Once the cluster's version rose, the previous build on this data
	// stops with the reason and the exit code systemd does not restart.
	n := c.Nodes[len(c.Nodes)-1]
	from := len(c.Log(n))
	if err := c.Terminate(n, time.Minute); err != nil {
		t.Fatal(err)
	}
	n.Binary, n.Flags = "", nil
	_ = c.Restart(n) // it may stop before its API listens
	err = c.WaitExit(n, time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitTooOld || !strings.Contains(c.Log(n)[from:], "upgrade this node's kappa binary") {
		t.Fatalf("the previous build on upgraded data: %v, want exit status %d and the reason:\n%s", err, exitTooOld, c.Log(n)[from:])
	}
}

// waitVersions waits until every node reports applying command version
// node and the cluster running version cluster.
func waitVersions(t *testing.T, c *proccluster.Cluster, node, cluster uint32) {
	t.Helper()
	var last []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		last = last[:0]
		done := true
		for _, n := range c.Nodes {
			st, err := c.Status(n, 2*time.Second)
			if err != nil {
				last, done = append(last, n.ID+": "+err.Error()), false
				continue
			}
			last = append(last, fmt.Sprintf("%s: node %d, cluster %d", n.ID, st.GetVersion().GetCommandVersion(), st.GetClusterCommandVersion()))
			done = done && st.GetVersion().GetCommandVersion() == node && max(st.GetClusterCommandVersion(), 1) == cluster
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want every node at command version %d and the cluster at %d within 30s; last: %s", node, cluster, strings.Join(last, "; "))
		}
	}
}

// checkAuditAndHashes checks the job's audit (every call applied once, in
// order) and that every replica reaches the same state.
func checkAuditAndHashes(t *testing.T, c *proccluster.Cluster, job uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	audit, err := c.Client().Audit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(audit); len(problems) > 0 {
		t.Fatalf("audit of j%d:\n%s", job, strings.Join(problems, "\n"))
	}
	var last []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		last = last[:0]
		hashes, indexes, answered := map[string]bool{}, map[uint64]bool{}, 0
		for _, n := range c.Nodes {
			st, err := c.Status(n, 2*time.Second)
			if err != nil {
				last = append(last, n.ID+": "+err.Error())
				continue
			}
			answered++
			last = append(last, fmt.Sprintf("%s@%d:%.12s", n.ID, st.GetAppliedIndex(), st.GetStateHash()))
			hashes[st.GetStateHash()], indexes[st.GetAppliedIndex()] = true, true
		}
		if answered == len(c.Nodes) && len(indexes) == 1 {
			if len(hashes) != 1 {
				t.Fatalf("replicas at the same index hold different states: %s", strings.Join(last, "; "))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replicas did not reach the same index within 30s: %s", strings.Join(last, "; "))
		}
	}
}
