package harness

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// writeLog writes a Bolt log with one entry per given byte, from index 1.
func writeLog(t *testing.T, path string, data ...byte) {
	t.Helper()
	store, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i, d := range data {
		if err := store.StoreLog(&raft.Log{Index: uint64(i + 1), Term: 1, Type: raft.LogCommand, Data: []byte{d}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompareLogsNamesTheFirstDifferingEntry(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")
	writeLog(t, a, 1, 1, 1, 1)
	writeLog(t, b, 1, 1, 2, 1)
	writeLog(t, c, 1, 1, 1)
	got := compareLogs([]string{"n1", "n2"}, []string{a, b})
	if !strings.Contains(got, "the logs differ first at index 3: n1 has term 1 LogCommand ") || !strings.Contains(got, ", n2 has term 1 LogCommand ") {
		t.Fatalf("differing logs: %s", got)
	}
	got = compareLogs([]string{"n1", "n3"}, []string{a, c})
	if !strings.Contains(got, "the logs agree on 1..3") || !strings.Contains(got, "n1's log 1..4") || !strings.Contains(got, "n3's log 1..3") {
		t.Fatalf("agreeing logs: %s", got)
	}
}
