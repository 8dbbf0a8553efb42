package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/internal/boltcheck"
)

// A node's data dir can rot: a bad disk, a copy cut short, a file edited
// by hand. bbolt panics on some corrupt pages and raft on a log entry it
// cannot read, so a node restarted by its supervisor would crash in a
// loop. The Raft files are checked before raft opens them instead, and a
// problem ends the start with one message naming the file and the
// recovery.

// CorruptError is a file of the data dir this node cannot start from.
type CorruptError struct {
	File   string
	NodeID string
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s is corrupt: %v. This node cannot start from its data dir. To recover: remove the node from the cluster "+
		"(`kappa cluster remove %s` on any other member), wipe its data dir, and start it again with --join (it catches up from a "+
		"snapshot; docs/operations.md, \"Replacing a broken node\")", e.File, e.Err, e.NodeID)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// checkRaftFiles checks the Raft log's pages and entries and the newest
// snapshot before raft opens them.
func checkRaftFiles(nodeID, dir string) error {
	corrupt := func(file string, err error) error { return &CorruptError{File: file, NodeID: nodeID, Err: err} }
	db := filepath.Join(dir, "raft.db")
	if _, err := os.Stat(db); err == nil {
		if err := boltcheck.Check(db); err != nil {
			return corrupt(db, err)
		}
		if err := readEveryEntry(func() (raft.LogStore, io.Closer, error) {
			store, err := raftboltdb.New(raftboltdb.Options{Path: db, BoltOptions: &bbolt.Options{ReadOnly: true, Timeout: time.Second}})
			return store, store, err
		}); err != nil {
			return corrupt(db, err)
		}
	}
	if wd := walDir(dir); exists(wd) {
		if err := readEveryEntry(func() (raft.LogStore, io.Closer, error) {
			w, err := openWAL(dir, nil)
			return w, w, err
		}); err != nil {
			return corrupt(wd, err)
		}
	}
	file, err := checkNewestSnapshot(dir)
	if err != nil {
		return corrupt(file, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// guarded runs f, turning a panic (or a fault on a bad memory map) into
// an error.
func guarded(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading it panicked: %v", r)
		}
	}()
	return f()
}

// readEveryEntry opens a Raft log and decodes every entry the way raft
// will read them.
func readEveryEntry(open func() (raft.LogStore, io.Closer, error)) error {
	return guarded(func() error {
		store, closer, err := open()
		if err != nil {
			return err
		}
		defer closer.Close()
		first, err := store.FirstIndex()
		if err != nil {
			return err
		}
		last, err := store.LastIndex()
		if err != nil {
			return err
		}
		var l raft.Log
		for i := first; i <= last && last > 0; i++ {
			if err := store.GetLog(i, &l); err != nil {
				return fmt.Errorf("log entry %d (of %d to %d): %w", i, first, last, err)
			}
		}
		return nil
	})
}

// checkNewestSnapshot checks the snapshot raft restores at start: its
// metadata, its checksum and that the state decodes. Raft would skip a
// bad one silently and start from an older snapshot whose log may be gone.
// It returns the file it found wrong.
func checkNewestSnapshot(dir string) (string, error) {
	root := filepath.Join(dir, "snapshots")
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return root, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	store, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		return root, err
	}
	listed, err := store.List()
	if err != nil {
		return root, err
	}
	// Raft lists only snapshots whose metadata reads.
	ok := map[string]bool{}
	for _, s := range listed {
		ok[s.ID] = true
	}
	sort.Strings(names)
	for _, name := range names {
		if !ok[name] {
			return filepath.Join(root, name, "meta.json"), errors.New("its metadata does not read")
		}
	}
	newest := listed[0]
	state := filepath.Join(root, newest.ID, "state.bin")
	err = guarded(func() error {
		_, rc, err := store.Open(newest.ID)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		return fsm.New().Restore(data)
	})
	var tooNew *fsm.VersionError
	if err != nil && !errors.As(err, &tooNew) { // a newer build's snapshot is no corruption: the node says so itself
		return state, err
	}
	return "", nil
}
