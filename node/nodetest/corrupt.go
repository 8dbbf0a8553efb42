package nodetest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// Garble flips n bytes of a file from offset at, as a bad disk would.
func Garble(t testing.TB, path string, at int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, at); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] ^= 0xa5
	}
	if _, err := f.WriteAt(buf, at); err != nil {
		t.Fatal(err)
	}
}

// GarbleRaftLog garbles the header of the root page of a node's Raft log
// (a bbolt file), found through its current meta page: a corruption bbolt
// itself panics on when it opens the file.
func GarbleRaftLog(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	meta := func(i int) (txid, root uint64) {
		m := b[i*page+16:]
		return binary.LittleEndian.Uint64(m[48:]), binary.LittleEndian.Uint64(m[16:])
	}
	tx0, root := meta(0)
	if tx1, root1 := meta(1); tx1 > tx0 {
		root = root1
	}
	Garble(t, path, int64(root)*int64(page), 16)
}

// NewestSnapshot is the directory of a node's newest Raft snapshot under
// its data dir's raft/snapshots (names sort by term, then index).
func NewestSnapshot(t testing.TB, raftDir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(raftDir, "snapshots", "*"))
	if len(m) == 0 {
		t.Fatalf("no snapshot under %s", raftDir)
	}
	return m[len(m)-1]
}
