package node

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// dataDirWithSnapshot runs a few jobs on a node, snapshots its state and
// stops it, leaving a data dir with a Raft log and a snapshot.
func dataDirWithSnapshot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		w.mustCall(exitReq("7"))
		return lambda.OK
	}}
	n := testNode(t, inv, dir)
	c := clientFor(t, n)
	for range 3 {
		if st := awaitJob(t, c, submit(t, c, okProgram), 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
			t.Fatalf("job %v", st)
		}
	}
	if err := n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	awaitJob(t, c, submit(t, c, okProgram), 20*time.Second) // entries after the snapshot too
	n.Close()
	return dir
}

// restart starts a node again on dir and returns Start's error.
func restart(t *testing.T, dir string) error {
	t.Helper()
	store, err := checkpoint.OpenDir(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "cluster.keys")
	if err := os.Chmod(keys, 0o600); err != nil { // a copied dir's files are 0644
		t.Fatal(err)
	}
	n, err := Start(Config{NodeID: "n1", DataDir: filepath.Join(dir, "node"), Invoker: &scriptedInvoker{t: t}, Store: store, RaftLog: testWriter{t},
		Keys: nodetest.KeyFile(t, keys)})
	if err == nil {
		n.Close()
	}
	return err
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	return to
}

func TestCorruptRaftFilesStopTheStartWithOneMessage(t *testing.T) {
	good := dataDirWithSnapshot(t)
	if err := restart(t, copyDir(t, good)); err != nil {
		t.Fatalf("the intact data dir: %v", err)
	}
	snapshot := func(dir string) string { return nodetest.NewestSnapshot(t, filepath.Join(dir, "node", "raft")) }
	cases := []struct {
		what    string
		corrupt func(dir string) string // returns the file it broke
	}{
		{"a bolt page header", func(dir string) string {
			db := filepath.Join(dir, "node", "raft", "raft.db")
			nodetest.GarbleRaftLog(t, db)
			return db
		}},
		{"a truncated log", func(dir string) string {
			db := filepath.Join(dir, "node", "raft", "raft.db")
			info, _ := os.Stat(db)
			os.Truncate(db, info.Size()/2)
			return db
		}},
		{"a snapshot's state", func(dir string) string {
			s := filepath.Join(snapshot(dir), "state.bin")
			nodetest.Garble(t, s, 10, 8)
			return s
		}},
		{"a snapshot's metadata", func(dir string) string {
			m := filepath.Join(snapshot(dir), "meta.json")
			os.WriteFile(m, []byte("{garbage"), 0o644)
			return m
		}},
	}
	for _, tc := range cases {
		dir := copyDir(t, good)
		file := tc.corrupt(dir)
		err := restart(t, dir)
		var corrupt *CorruptError
		if !errors.As(err, &corrupt) || corrupt.File != file {
			t.Errorf("%s: %v, want a CorruptError naming %s", tc.what, err, file)
			continue
		}
		for _, want := range []string{file + " is corrupt", "kappa cluster remove n1", "wipe its data dir", "--join", "docs/operations.md"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say %q", tc.what, err, want)
			}
		}
	}
}
