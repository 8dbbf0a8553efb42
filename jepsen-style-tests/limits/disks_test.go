package limits

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// onSmallDisk moves a stopped node's data dir onto a tmpfs of the given
// size mounted in its place (as root; the test skips otherwise).
func onSmallDisk(t *testing.T, dataDir, size string) {
	t.Helper()
	saved := filepath.Join(t.TempDir(), "saved")
	if err := os.Rename(dataDir, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	nodetest.MountSmallDisk(t, dataDir, size)
	if err := os.CopyFS(dataDir, os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}
}

// transferTo hands leadership to n, retrying while n's Raft is not yet
// reachable from the leader.
func transferTo(t *testing.T, c *harness.Cluster, n *harness.Node) {
	t.Helper()
	nodetest.Eventually(t, time.Minute, n.ID+" leads", func() bool {
		if c.Leader() == n {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Client().TransferLeader(ctx, n.ID)
		return c.Leader() == n
	})
}

// The leader's data dir fills up: it steps down once, the others elect a
// leader and the job goes on; the full node sits out without disturbing
// them, says why in its log and status, and takes part again once space
// is back.
func TestDiskFullLeaderStepsDownOnceAndRecovers(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, LambdaTimeout: 2 * time.Second, ExtraServerArgs: steady})
	n2 := c.Nodes[1]
	c.Kill(n2)
	onSmallDisk(t, n2.DataDir, "16m")
	c.Restart(n2)
	c.WaitMembers(3, 30*time.Second)
	transferTo(t, c, n2)

	const n = 8
	job := c.Submit(healthy, fmt.Sprintf(`{"n": %d}`, n), "healthy", 0)
	filler := nodetest.FillDisk(t, n2.DataDir)
	var term uint64
	nodetest.Eventually(t, 60*time.Second, "another node leads", func() bool {
		l := c.Leader()
		if l == nil || l == n2 {
			return false
		}
		st, err := c.Status(l)
		term = st.GetTerm()
		return err == nil
	})
	nodetest.Eventually(t, 10*time.Second, "n2 reports its disk full", func() bool {
		st, err := c.Status(n2)
		return err == nil && st.GetDiskFull() && strings.Contains(st.GetDiskMessage(), "disk full on "+n2.DataDir)
	})
	// `kappa status` says so too. Its role is follower, or candidate when
	// its election timer fired first: then it waits to save its new term
	// and asks no one for votes.
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	out, _ := harness.RunKappa(t, 30*time.Second, "status", "--cluster", n2.APIAddr)
	if !strings.Contains(out, "follower (disk full)") && !strings.Contains(out, "candidate (disk full)") || !strings.Contains(out, "n2: disk full on "+n2.DataDir) {
		t.Fatalf("kappa status:\n%s", out)
	}
	// No flapping: for several election timeouts n2 never leads and no
	// election happens.
	for range 24 {
		time.Sleep(500 * time.Millisecond)
		l := c.Leader()
		if l == n2 {
			t.Fatal("n2 leads again on a full disk")
		}
		if l == nil {
			continue
		}
		if st, err := c.Status(l); err == nil && st.GetTerm() != term {
			t.Fatalf("an election while n2's disk is full: term %d → %d", term, st.GetTerm())
		}
	}
	if st := c.WaitJob(job, 3*time.Minute); st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != fmt.Sprint((n-1)*n*(2*n-1)/6) {
		t.Fatalf("the job: %v", st)
	}
	// One line says why; raft does not retry its writes in a loop.
	log := c.Log(n2)
	if got := strings.Count(log, `msg="disk full on `+n2.DataDir+`: Raft writes fail`); got != 1 {
		t.Fatalf("n2 logged the full disk %d times, want once", got)
	}
	if got := strings.Count(log, "failed to append to logs") + strings.Count(log, "failed to commit logs"); got > 2 {
		t.Fatalf("n2 failed %d log writes: it keeps writing to a full disk", got)
	}

	os.Remove(filler)
	nodetest.Eventually(t, 30*time.Second, "n2's disk is no longer full", func() bool {
		st, err := c.Status(n2)
		return err == nil && !st.GetDiskFull()
	})
	// The line reaches the test through n2's output pipe, maybe after the status.
	nodetest.Eventually(t, 10*time.Second, "n2's log line that space is back", func() bool {
		return strings.Contains(c.Log(n2), "disk space on "+n2.DataDir+" is back")
	})
	transferTo(t, c, n2)
	if st := c.WaitJob(c.Submit(healthy, `{"n": 2}`, "after", 0), 2*time.Minute); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("a job after recovery: %v", st)
	}
	c.Converged(30 * time.Second)
}

// A node whose Raft log or snapshot is corrupt does not start: it exits
// with status 78 and one message naming the file and the recovery, never
// a panic. The recovery it names brings it back.
func TestCorruptRaftFilesEndTheStartAndTheRecoveryWorks(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, LambdaTimeout: 2 * time.Second,
		ExtraServerArgs: append([]string{"--snapshot-threshold", "32", "--snapshot-interval", "1s", "--trailing-logs", "16"}, steady...)})
	job := c.Submit(healthy, `{"n": 4}`, "before", 0)
	if st := c.WaitJob(job, 3*time.Minute); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("the job: %v", st)
	}
	n3 := c.Nodes[2]
	raftDir := filepath.Join(n3.DataDir, "raft")
	nodetest.Eventually(t, 30*time.Second, "n3 has a snapshot", func() bool {
		m, _ := filepath.Glob(filepath.Join(raftDir, "snapshots", "*", "state.bin"))
		return len(m) > 0
	})
	c.Kill(n3)
	cases := []struct {
		what    string
		corrupt func(dir string) string
	}{
		{"a garbled bolt page", func(dir string) string {
			db := filepath.Join(dir, "raft", "raft.db")
			nodetest.GarbleRaftLog(t, db)
			return db
		}},
		{"a garbled snapshot", func(dir string) string {
			state := filepath.Join(nodetest.NewestSnapshot(t, filepath.Join(dir, "raft")), "state.bin")
			nodetest.Garble(t, state, 20, 8)
			return state
		}},
		{"unreadable snapshot metadata", func(dir string) string {
			meta := filepath.Join(nodetest.NewestSnapshot(t, filepath.Join(dir, "raft")), "meta.json")
			os.WriteFile(meta, []byte("{"), 0o644)
			return meta
		}},
	}
	for _, tc := range cases {
		dir := filepath.Join(t.TempDir(), "n3")
		if err := os.CopyFS(dir, os.DirFS(n3.DataDir)); err != nil {
			t.Fatal(err)
		}
		file := tc.corrupt(dir)
		// --insecure: the data dir check needs no certificates.
		out, code := harness.RunKappa(t, time.Minute, "server", "--node-id", n3.ID, "--data-dir", dir,
			"--raft-addr", n3.RaftAddr, "--api-addr", n3.APIAddr, "--store", c.Store(), "--insecure",
			"--cluster-key-file", c.KeyFile())
		if code != 78 || !strings.Contains(out, file+" is corrupt") || !strings.Contains(out, "kappa cluster remove n3") ||
			strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Errorf("%s: exit %d, output:\n%s", tc.what, code, out)
		}
	}
	// The recovery the message names: remove the node, wipe it, join again.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Client().Remove(ctx, n3.ID); err != nil {
		t.Fatal(err)
	}
	c.Wipe(n3)
	c.Restart(n3)
	c.WaitMembers(3, time.Minute)
	c.Converged(time.Minute)
	st, err := c.PinnedClient(2).Job(ctx, job, true)
	if err != nil || st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("the rejoined node's replica: %v %v", st, err)
	}
}
