package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/backup"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// stuckFirstEpoch is a platform whose first invocation of the root task
// claims, checkpoints (seq 1) and then hangs until the test ends, as a
// lambda of a cluster that is lost; later invocations exit with "7".
func stuckFirstEpoch(t *testing.T) *scriptedInvoker {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		g := w.claim()
		if w.spec.Epoch == 1 {
			w.mustCall(checkpointReq())
			<-release
			return lambda.Crash
		}
		if g.GetSeq() != 1 || g.GetCheckpointKey() != "jobs/j1/t1/e1-s1.ckpt" {
			t.Errorf("the relaunch must resume from the state's pointer: %v", g)
		}
		w.mustCall(exitReq("7"))
		return lambda.OK
	}
	return inv
}

// runningJob submits a job and waits until its root task checkpointed.
func runningJob(t *testing.T, n *Node) {
	t.Helper()
	submit(t, clientFor(t, n), prog)
	nodetest.Eventually(t, 20*time.Second, "a checkpoint of the running task", func() bool {
		tk := jobTask(n, 1, 1)
		return tk != nil && tk.GetSeq() == 1
	})
}

// A backup taken while a task runs, restored into an empty data dir over
// the same store: the restored state has the backup's hash, the running
// task is relaunched from its pointer with an epoch the old cluster never
// used, and the job finishes. The dir then refuses --restore again.
func TestRestoreFromABackupResumesTheRunningJob(t *testing.T) {
	old := testNode(t, stuckFirstEpoch(t), t.TempDir())
	runningJob(t, old)
	c, err := kappaclient.New([]string{old.APIAddr()}, kappaclient.Insecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hdr, state, err := c.Backup(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := clientFor(t, old).ClusterStatus(ctx, &wire.ClusterStatusRequest{})
	if hdr.GetStateHash() != st.GetStateHash() || hdr.GetRunningJobs() != 1 || hdr.GetStore() != old.storeID {
		t.Fatalf("backup header %v; the node's hash is %s", hdr, st.GetStateHash())
	}
	b, err := backup.FromWire(hdr, state)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "cluster.backup")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	// The backup holds no key: the restored node needs the key file.
	store, keys := old.cfg.Store, old.cfg.Keys
	old.Close()

	inv := &scriptedInvoker{t: t, script: stuckFirstEpoch(t).script}
	var logs lockedBuffer
	dir := t.TempDir()
	restoreInto := func(c *Config) {
		c.DataDir, c.Store, c.Keys, c.Bootstrap, c.Restore, c.ForceNewCluster = dir, store, keys, false, file, true
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}
	n := testNode(t, inv, t.TempDir(), restoreInto)
	if !strings.Contains(logs.String(), "state_hash="+hdr.GetStateHash()) || !strings.Contains(logs.String(), "matches_backup=true") {
		t.Fatalf("the restored node did not report the backup's state hash %s:\n%s", hdr.GetStateHash(), logs.String())
	}
	cl := clientFor(t, n)
	if got := awaitJob(t, cl, 1, 20*time.Second); got.GetState() != wire.JobState_JOB_SUCCEEDED || got.GetResultJson() != "7" {
		t.Fatalf("restored job %v", got)
	}
	assertAuditClean(t, cl, 1)
	if len(inv.epochs) != 1 || inv.epochs[0] <= 1<<40 {
		t.Fatalf("the relaunch ran at epochs %v, want one above the restore's base", inv.epochs)
	}
	var cluster string
	n.replica.read(func(m *fsm.Machine) { cluster = m.ClusterID() })
	if cluster != hdr.GetClusterId() {
		t.Fatalf("the restored cluster is %q, the backup's %q", cluster, hdr.GetClusterId())
	}
	if _, err := os.Stat(filepath.Join(dir, relaunchFile)); !os.IsNotExist(err) {
		t.Fatalf("the relaunch marker is still there after RelaunchAll: %v", err)
	}
	n.Close()

	cfg := Config{NodeID: "n1", Invoker: inv}
	restoreInto(&cfg)
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "holds Raft state already") {
		t.Fatalf("restoring into the used data dir again: %v", err)
	}
}

// A survivor of lost quorum restarted with ForceNewCluster becomes a
// cluster of its own with its whole state and relaunches its running
// task; left on the command line, the flag is refused at the next start.
func TestForceNewClusterRecoversTheSurvivor(t *testing.T) {
	base := t.TempDir()
	old := testNode(t, stuckFirstEpoch(t), base)
	runningJob(t, old)
	old.Close()

	inv := &scriptedInvoker{t: t, script: stuckFirstEpoch(t).script}
	recoverIt := func(c *Config) { c.Bootstrap, c.ForceNewCluster = false, true }
	n := testNode(t, inv, base, recoverIt)
	cl := clientFor(t, n)
	if got := awaitJob(t, cl, 1, 20*time.Second); got.GetState() != wire.JobState_JOB_SUCCEEDED || got.GetResultJson() != "7" {
		t.Fatalf("recovered job %v", got)
	}
	if len(inv.epochs) != 1 || inv.epochs[0] <= 1<<40 {
		t.Fatalf("the relaunch ran at epochs %v, want one above the recovery's base", inv.epochs)
	}
	store, keys := n.cfg.Store, n.cfg.Keys
	n.Close()

	for _, c := range []struct {
		dir, want string
		version   uint32
	}{
		{filepath.Join(base, "node"), "already started a new cluster", 0},
		{t.TempDir(), "holds no Raft state to recover", 0},
		// A node acting as a build of command version 1 cannot start the
		// new timeline: refused at once, not retried forever.
		{t.TempDir(), "needs command version 2; this node applies up to 1", 1},
	} {
		_, err := Start(Config{NodeID: "n1", DataDir: c.dir, Invoker: inv, Store: store, Keys: keys, ForceNewCluster: true, MaxCommandVersion: c.version})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ForceNewCluster on %s: %v, want %q", c.dir, err, c.want)
		}
	}
}

// The first leader records the cluster's store once the cluster's command
// version allows; a node capped at version 1 (an old voter) leaves it
// unrecorded.
func TestTheClusterRecordsItsStoreFromCommandVersion2(t *testing.T) {
	n := testNode(t, &scriptedInvoker{t: t}, t.TempDir())
	defer n.Close()
	nodetest.Eventually(t, 10*time.Second, "the store recorded", func() bool {
		var s string
		n.replica.read(func(m *fsm.Machine) { s, _ = m.Store() })
		return s == n.storeID
	})

	capped := testNode(t, &scriptedInvoker{t: t}, t.TempDir(), func(c *Config) { c.MaxCommandVersion = 1 })
	defer capped.Close()
	recorded, err := capped.recordStore(context.Background())
	var s string
	capped.replica.read(func(m *fsm.Machine) { s, _ = m.Store() })
	if recorded || err != nil || s != "" {
		t.Fatalf("a version-1 cluster recorded its store: %v, %v, %q", recorded, err, s)
	}
	if got, _ := capped.clusterStore(); got != capped.storeID {
		t.Fatalf("the join check would compare with %q, want the leader's own %q", got, capped.storeID)
	}
}

// A one-voter cluster restarted with another store records the new one
// (how a single node moves to a shared store before others join).
func TestASoleVoterMayChangeItsStore(t *testing.T) {
	base := t.TempDir()
	n := testNode(t, &scriptedInvoker{t: t}, base, func(c *Config) { c.PerNodeStore = true })
	nodetest.Eventually(t, 10*time.Second, "the store recorded", func() bool {
		var per bool
		n.replica.read(func(m *fsm.Machine) { _, per = m.Store() })
		return per
	})
	n.Close()
	shared, err := checkpoint.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n = testNode(t, &scriptedInvoker{t: t}, base, func(c *Config) { c.Store = shared })
	defer n.Close()
	nodetest.Eventually(t, 10*time.Second, "the new store recorded", func() bool {
		var s string
		var per bool
		n.replica.read(func(m *fsm.Machine) { s, per = m.Store() })
		return s == n.storeID && !per
	})
	select {
	case err := <-n.Fatal():
		t.Fatalf("the sole voter stopped: %v", err)
	default:
	}
}
