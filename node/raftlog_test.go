package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// runJobs runs n jobs to success on a node started on dir and stops it.
func runJobs(t *testing.T, dir string, n int, tweak ...func(*Config)) []uint64 {
	t.Helper()
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		w.mustCall(exitReq("7"))
		return lambda.OK
	}}
	node := testNode(t, inv, dir, tweak...)
	defer node.Close()
	c := clientFor(t, node)
	var jobs []uint64
	for range n {
		job := submit(t, c, okProgram)
		if st := awaitJob(t, c, job, 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
			t.Fatalf("job %v", st)
		}
		jobs = append(jobs, job)
	}
	return jobs
}

func useWAL(c *Config) { c.RaftLogFormat = RaftLogWAL }

// A data dir created with the WAL keeps its log there, private, and keeps
// using it when the node restarts without the flag; one created with Bolt
// stays Bolt when the WAL is asked for later.
func TestRaftLogFormatIsTheDataDirs(t *testing.T) {
	dir := t.TempDir()
	first := runJobs(t, dir, 2, useWAL)
	wd := walDir(filepath.Join(dir, "node", "raft"))
	entries, err := os.ReadDir(wd)
	if err != nil {
		t.Fatalf("the WAL dir: %v", err)
	}
	segments := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v, want readable by its owner only", e.Name(), info.Mode().Perm())
		}
		if strings.HasSuffix(e.Name(), ".wal") {
			segments++
		}
	}
	if segments == 0 {
		t.Fatalf("no WAL segment in %s: %v", wd, entries)
	}
	// Restarted with the default format: the log is still the WAL's.
	second := runJobs(t, dir, 1)
	if second[0] <= first[1] {
		t.Errorf("job ids %v then %v: the restarted node lost the log", first, second)
	}

	bolt := t.TempDir()
	runJobs(t, bolt, 1)
	runJobs(t, bolt, 1, useWAL)
	if _, err := os.Stat(walDir(filepath.Join(bolt, "node", "raft"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a Bolt data dir got a WAL: %v", err)
	}
}

// A WAL whose metadata cannot be read stops the start with the
// data-dir-corrupt message naming the WAL.
func TestCorruptWALStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	runJobs(t, dir, 1, useWAL)
	wd := walDir(filepath.Join(dir, "node", "raft"))
	nodetest.Garble(t, filepath.Join(wd, "wal-meta.db"), 0, 8192) // both of Bolt's meta pages
	err := restart(t, dir)
	var corrupt *CorruptError
	if !errors.As(err, &corrupt) || corrupt.File != wd {
		t.Fatalf("%v, want a CorruptError naming %s", err, wd)
	}
}
