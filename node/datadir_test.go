package node

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda"
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
	n, err := Start(Config{NodeID: "n1", DataDir: filepath.Join(dir, "node"), Invoker: &scriptedInvoker{t: t}, Store: store, RaftLog: testWriter{t}})
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

// rootPage is the root bucket's page of a bbolt file, from its current
// meta page (of the two, the one with the higher transaction id).
func rootPage(t *testing.T, path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := func(page int) (txid, root uint64) {
		m := b[page*os.Getpagesize()+16:]
		return binary.LittleEndian.Uint64(m[48:]), binary.LittleEndian.Uint64(m[16:])
	}
	tx0, root0 := meta(0)
	tx1, root1 := meta(1)
	if tx1 > tx0 {
		return root1
	}
	return root0
}

func TestCorruptRaftFilesStopTheStartWithOneMessage(t *testing.T) {
	good := dataDirWithSnapshot(t)
	if err := restart(t, copyDir(t, good)); err != nil {
		t.Fatalf("the intact data dir: %v", err)
	}
	snapshot := func(dir string) string {
		m, _ := filepath.Glob(filepath.Join(dir, "node", "raft", "snapshots", "*"))
		if len(m) == 0 {
			t.Fatal("no snapshot")
		}
		return m[len(m)-1]
	}
	garble := func(path string, at int64, n int) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, n)
		f.ReadAt(buf, at)
		for i := range buf {
			buf[i] ^= 0xa5
		}
		f.WriteAt(buf, at)
	}
	page := int64(os.Getpagesize())
	cases := []struct {
		what    string
		corrupt func(dir string) string // returns the file it broke
	}{
		{"a bolt page header", func(dir string) string {
			db := filepath.Join(dir, "node", "raft", "raft.db")
			garble(db, int64(rootPage(t, db))*page, 16)
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
			garble(s, 10, 8)
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
