package boltcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// raftLog writes a Raft log store like a node's, with entries of mixed
// sizes (some spill into overflow pages), and returns its path.
func raftLog(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raft.db")
	s, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 300; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: make([]byte, 100+int(i%7)*2000)})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 50); err != nil { // leaves freed pages
		t.Fatal(err)
	}
	s.Close()
	return path
}

// reachable lists the pages a walk of a good file visits (their first
// pages: an overflow page holds data, not a header).
func reachable(t *testing.T, path string) (ids []uint64, pageSize int64) {
	f, _ := os.Open(path)
	defer f.Close()
	info, _ := f.Stat()
	c := &checker{r: f, size: info.Size(), seen: map[uint64]bool{}}
	if err := c.run(); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	for id := range c.seen {
		if id < 2 {
			continue
		}
		head := make([]byte, 16)
		f.ReadAt(head, int64(id)*c.pageSize)
		if uint64(head[0])|uint64(head[1])<<8|uint64(head[2])<<16 == id { // a header naming itself
			ids = append(ids, id)
		}
	}
	return ids, c.pageSize
}

func TestEveryReachablePageIsChecked(t *testing.T) {
	path := raftLog(t)
	good, _ := os.ReadFile(path)
	ids, pageSize := reachable(t, path)
	if len(ids) < 20 {
		t.Fatalf("only %d reachable pages: the fixture is too small", len(ids))
	}
	for _, id := range ids {
		bad := append([]byte(nil), good...)
		for i := range int64(16) {
			bad[int64(id)*pageSize+i] ^= 0x5a
		}
		os.WriteFile(path, bad, 0o600)
		if err := Check(path); err == nil {
			t.Errorf("a garbled header of page %d passed", id)
		}
	}
}

func TestMetaPagesAndTruncation(t *testing.T) {
	path := raftLog(t)
	good, _ := os.ReadFile(path)
	ps := int64(os.Getpagesize())
	write := func(b []byte) error { os.WriteFile(path, b, 0o600); return Check(path) }

	bad := append([]byte(nil), good...)
	bad[16+20] ^= 1 // page 0's meta: the checksum no longer matches
	if err := write(bad); err != nil {
		t.Fatalf("one bad meta page: bbolt uses the other, so must the check: %v", err)
	}
	bad[ps+16+20] ^= 1
	if err := write(bad); err == nil || !strings.Contains(err.Error(), "neither meta page is valid") {
		t.Fatalf("both meta pages bad: %v", err)
	}
	if err := write(good[:len(good)/2]); err == nil {
		t.Fatal("a file cut in half passed")
	}
	if err := write(good[:100]); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("a stub: %v", err)
	}
	if err := write(good); err != nil {
		t.Fatal(err)
	}
}

// Whatever the bytes, the check answers without panicking.
func FuzzCheck(f *testing.F) {
	good, err := os.ReadFile(raftLog(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[:3*os.Getpagesize()])
	f.Add([]byte("not a database"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = Check(path)
	})
}
