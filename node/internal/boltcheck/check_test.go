package boltcheck

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
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
	f.Add(fanOut(40))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = CheckReader(bytes.NewReader(data), int64(len(data)))
	})
}

// fanOut is a bbolt file whose root leaf holds an inline bucket that
// holds two elements naming one nested inline bucket, which holds two
// naming the next, levels deep: 2^levels walks for a naive checker.
func fanOut(levels int) []byte {
	le := binary.LittleEndian
	// Build the value chain from the innermost level outward.
	var value []byte
	for range levels {
		inner := value
		v := make([]byte, 16+16+2*elementSize+1) // bucket header, page header, 2 elements, key "k"
		le.PutUint16(v[16+8:], leafPage)
		le.PutUint16(v[16+10:], 2)
		key := uint32(16 + 16 + 2*elementSize)
		for i := range uint32(2) {
			e := v[16+16+i*elementSize:]
			at := 16 + 16 + i*elementSize
			le.PutUint32(e, bucketLeaf)
			le.PutUint32(e[4:], key-at)
			le.PutUint32(e[8:], 1)
			le.PutUint32(e[12:], uint32(len(inner)))
		}
		v[key] = 'k'
		value = append(v, inner...)
		if len(inner) == 0 {
			value = v[:16+16] // the innermost: an empty inline bucket
			le.PutUint16(value[16+10:], 0)
		}
	}
	ps := os.Getpagesize()
	pages := 3 + (len(value)+64)/ps
	file := make([]byte, pages*ps)
	for i := range 2 { // meta pages
		p := file[i*ps:]
		le.PutUint64(p, uint64(i))
		le.PutUint16(p[8:], metaPage)
		m := p[16:]
		le.PutUint32(m, magic)
		le.PutUint32(m[4:], version)
		le.PutUint32(m[8:], uint32(ps))
		le.PutUint64(m[16:], 2) // root bucket page
		le.PutUint64(m[32:], noFreelist)
		le.PutUint64(m[40:], uint64(pages))
		le.PutUint64(m[48:], uint64(i))
		sum := fnv.New64a()
		sum.Write(m[:56])
		le.PutUint64(m[56:], sum.Sum64())
	}
	root := file[2*ps:]
	le.PutUint64(root, 2)
	le.PutUint16(root[8:], leafPage)
	le.PutUint16(root[10:], 1)
	le.PutUint32(root[12:], uint32(pages-3)) // overflow: the value spills over
	le.PutUint32(root[16:], bucketLeaf)
	le.PutUint32(root[16+4:], elementSize)
	le.PutUint32(root[16+8:], 1)
	le.PutUint32(root[16+12:], uint32(len(value)))
	root[16+elementSize] = 'b'
	copy(root[16+elementSize+1:], value)
	return file
}

func TestNestedInlineBucketsCannotBlowUp(t *testing.T) {
	if err := CheckReader(bytes.NewReader(fanOut(2)), int64(len(fanOut(2)))); err != nil {
		t.Fatalf("two levels are a valid file: %v", err)
	}
	deep := fanOut(40)
	if err := CheckReader(bytes.NewReader(deep), int64(len(deep))); err == nil || !strings.Contains(err.Error(), "more elements than the file can hold") {
		t.Fatalf("2^40 walks: %v", err)
	}
}
