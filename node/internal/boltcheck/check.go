// Package boltcheck checks the page structure of a bbolt file (the Raft
// log) before bbolt opens it. bbolt trusts its pages: a node opening a
// file with corrupt pages panics, some of the time in a goroutine of
// bbolt's own where no recover reaches, and a supervisor restarting it
// makes a crash loop. This walk reads the file with bounds-checked reads,
// follows every page bbolt would follow on open, and reports the first
// inconsistency as an error.
//
// The layout (bbolt 1.3, file format version 2): page 0 and page 1 each
// hold a meta record (the newer valid one is current) naming the root
// bucket's page, the freelist page and the high-water mark; a page starts
// with a 16-byte header (id, flags, count, overflow) followed by count
// 16-byte elements whose keys and values lie after them, at offsets
// relative to each element. A bucket is a leaf value flagged as such: its
// root page id and sequence, then, for an inline bucket (root 0), a page
// of its own in the value.
package boltcheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

const (
	headerSize  = 16
	elementSize = 16
	metaSize    = 64 // magic, version, page size, flags, root (16), freelist, pgid, txid, checksum
	magic       = 0xED0CDAED
	version     = 2
	noFreelist  = ^uint64(0)

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01

	maxDepth = 64
)

// Check walks the bbolt file at path and returns the first
// inconsistency it finds, or nil.
func Check(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return CheckReader(f, info.Size())
}

// CheckReader is Check of a file's bytes read through r.
func CheckReader(r io.ReaderAt, size int64) error {
	c := &checker{r: r, size: size, seen: map[uint64]bool{}}
	return c.run()
}

type checker struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64          // pages in use (the meta's pgid)
	seen     map[uint64]bool // pages visited, overflow pages included
	// elements counts the elements walked: a file holds at most one per
	// elementSize bytes, so more means inline buckets that nest into
	// themselves (a loop the page ids cannot show).
	elements int64
}

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

func (c *checker) run() error {
	if c.size < 2*headerSize+2*metaSize {
		return fmt.Errorf("the file is %d bytes, too short for a bbolt database", c.size)
	}
	m, err := c.currentMeta()
	if err != nil {
		return err
	}
	c.pageSize, c.hwm = int64(m.pageSize), m.pgid
	if c.hwm < 2 || int64(c.hwm) > c.size/c.pageSize {
		return fmt.Errorf("the meta page counts %d pages, but the file holds %d", c.hwm, c.size/c.pageSize)
	}
	c.seen[0], c.seen[1] = true, true
	if m.freelist != noFreelist {
		p, err := c.page(m.freelist)
		if err != nil {
			return fmt.Errorf("freelist: %w", err)
		}
		if p.flags&freelistPage == 0 {
			return fmt.Errorf("freelist page %d has type %#x", m.freelist, p.flags)
		}
	}
	return c.visit(m.root, 0)
}

// currentMeta reads both meta pages and returns the newer valid one, as
// bbolt does. The page size comes from page 0's meta, else the OS's.
func (c *checker) currentMeta() (meta, error) {
	m0, err0 := c.readMeta(0)
	pageSize := int64(os.Getpagesize())
	if err0 == nil {
		pageSize = int64(m0.pageSize)
	}
	m1, err1 := c.readMeta(pageSize)
	switch {
	case err0 != nil && err1 != nil:
		return meta{}, fmt.Errorf("neither meta page is valid (page 0: %v; page 1: %v)", err0, err1)
	case err1 != nil || (err0 == nil && m0.txid >= m1.txid):
		return m0, nil
	}
	return m1, nil
}

func (c *checker) readMeta(off int64) (meta, error) {
	buf := make([]byte, headerSize+metaSize)
	if _, err := c.r.ReadAt(buf, off); err != nil {
		return meta{}, fmt.Errorf("reading: %w", err)
	}
	if binary.LittleEndian.Uint16(buf[8:])&metaPage == 0 {
		return meta{}, errors.New("not a meta page")
	}
	b := buf[headerSize:]
	sum := fnv.New64a()
	sum.Write(b[:56])
	switch {
	case binary.LittleEndian.Uint32(b[0:]) != magic:
		return meta{}, errors.New("bad magic number")
	case binary.LittleEndian.Uint32(b[4:]) != version:
		return meta{}, fmt.Errorf("format version %d, not %d", binary.LittleEndian.Uint32(b[4:]), version)
	case binary.LittleEndian.Uint64(b[56:]) != 0 && binary.LittleEndian.Uint64(b[56:]) != sum.Sum64():
		return meta{}, errors.New("checksum mismatch")
	}
	m := meta{pageSize: binary.LittleEndian.Uint32(b[8:]), root: binary.LittleEndian.Uint64(b[16:]),
		freelist: binary.LittleEndian.Uint64(b[32:]), pgid: binary.LittleEndian.Uint64(b[40:]), txid: binary.LittleEndian.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > 1<<20 || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	return m, nil
}

type page struct {
	id, flags, count uint64
	data             []byte // the whole page, header included, overflow pages too
}

func parseHeader(b []byte) page {
	return page{id: binary.LittleEndian.Uint64(b), flags: uint64(binary.LittleEndian.Uint16(b[8:])),
		count: uint64(binary.LittleEndian.Uint16(b[10:])), data: b}
}

// page reads page id and its overflow pages, checking they are in use
// and name themselves.
func (c *checker) page(id uint64) (page, error) {
	if id < 2 || id >= c.hwm {
		return page{}, fmt.Errorf("page %d is out of bounds (pages in use: %d)", id, c.hwm)
	}
	head := make([]byte, headerSize)
	if _, err := c.r.ReadAt(head, int64(id)*c.pageSize); err != nil {
		return page{}, fmt.Errorf("page %d: %w", id, err)
	}
	overflow := uint64(binary.LittleEndian.Uint32(head[12:]))
	if got := binary.LittleEndian.Uint64(head); got != id {
		return page{}, fmt.Errorf("page %d's header names page %d", id, got)
	}
	if id+overflow >= c.hwm {
		return page{}, fmt.Errorf("page %d overflows past the pages in use (%d more)", id, overflow)
	}
	for i := id; i <= id+overflow; i++ {
		if c.seen[i] {
			return page{}, fmt.Errorf("page %d is referenced twice", i)
		}
		c.seen[i] = true
	}
	buf := make([]byte, int64(overflow+1)*c.pageSize)
	if _, err := c.r.ReadAt(buf, int64(id)*c.pageSize); err != nil {
		return page{}, fmt.Errorf("page %d: %w", id, err)
	}
	return parseHeader(buf), nil
}

// visit checks a bucket's page and everything under it.
func (c *checker) visit(id uint64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("page %d: the tree is deeper than %d", id, maxDepth)
	}
	p, err := c.page(id)
	if err != nil {
		return err
	}
	return c.walk(p, depth)
}

// walk checks one branch or leaf page (a stored one, or an inline
// bucket's) and descends into what it references.
func (c *checker) walk(p page, depth int) error {
	if p.flags&(branchPage|leafPage) == 0 {
		return fmt.Errorf("page %d has type %#x, not a branch or leaf", p.id, p.flags)
	}
	if headerSize+p.count*elementSize > uint64(len(p.data)) {
		return fmt.Errorf("page %d: %d elements do not fit", p.id, p.count)
	}
	if c.elements += int64(p.count); c.elements > c.size/elementSize {
		return fmt.Errorf("page %d: more elements than the file can hold (inline buckets nested into themselves)", p.id)
	}
	for i := uint64(0); i < p.count; i++ {
		at := headerSize + i*elementSize
		e := p.data[at:]
		if p.flags&branchPage != 0 {
			pos, ksize := uint64(binary.LittleEndian.Uint32(e)), uint64(binary.LittleEndian.Uint32(e[4:]))
			if at+pos+ksize > uint64(len(p.data)) {
				return fmt.Errorf("page %d: element %d's key lies outside the page", p.id, i)
			}
			if err := c.visit(binary.LittleEndian.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		flags := binary.LittleEndian.Uint32(e)
		pos, ksize, vsize := uint64(binary.LittleEndian.Uint32(e[4:])), uint64(binary.LittleEndian.Uint32(e[8:])), uint64(binary.LittleEndian.Uint32(e[12:]))
		if at+pos+ksize+vsize > uint64(len(p.data)) {
			return fmt.Errorf("page %d: element %d lies outside the page", p.id, i)
		}
		if flags&bucketLeaf == 0 {
			continue
		}
		value := p.data[at+pos+ksize : at+pos+ksize+vsize]
		if err := c.bucket(p.id, value, depth); err != nil {
			return err
		}
	}
	return nil
}

// bucket checks a bucket value: a stored root, or an inline page.
func (c *checker) bucket(parent uint64, value []byte, depth int) error {
	if len(value) < 16 {
		return fmt.Errorf("page %d: a bucket value of %d bytes", parent, len(value))
	}
	if root := binary.LittleEndian.Uint64(value); root != 0 {
		return c.visit(root, depth+1)
	}
	inline := value[16:]
	if len(inline) < headerSize {
		return fmt.Errorf("page %d: an inline bucket of %d bytes", parent, len(inline))
	}
	p := parseHeader(inline)
	if p.flags&leafPage == 0 {
		return fmt.Errorf("page %d: an inline bucket of type %#x", parent, p.flags)
	}
	p.id = parent
	return c.walk(p, depth+1)
}
