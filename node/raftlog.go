package node

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	waltypes "github.com/hashicorp/raft-wal/types"
)

// The Raft log's on-disk format. Bolt (raft/raft.db) commits an append with
// two fdatasyncs, its pages and then its meta page; the WAL (raft/wal/,
// hashicorp/raft-wal: segment files of checksummed frames) with one. A
// committed call waits for the leader's append and then a follower's, one
// after the other, so the WAL takes about half the disk time off each
// commit (docs/benchmarks.md). Term and vote stay in raft/raft.db either
// way.
const (
	RaftLogBolt = "bolt"
	RaftLogWAL  = "wal"
)

// RaftLogFormats are the values of Config.RaftLogFormat.
var RaftLogFormats = []string{RaftLogBolt, RaftLogWAL}

// ValidRaftLogFormat says why f is not a Raft log format, or nil.
func ValidRaftLogFormat(f string) error {
	for _, known := range RaftLogFormats {
		if f == known {
			return nil
		}
	}
	return fmt.Errorf("unknown Raft log format %q (--raft-log-format takes %s or %s)", f, RaftLogBolt, RaftLogWAL)
}

func walDir(raftDir string) string { return filepath.Join(raftDir, "wal") }

// openLogStore opens the Raft log in the data dir's format: a data dir
// keeps the format it was created with (the WAL if raft/wal exists, Bolt
// if raft.db holds entries); only a new one takes Config.RaftLogFormat.
// closer is the WAL to close at shutdown (nil for Bolt, closed with the
// stable store).
func (n *Node) openLogStore(raftDir string, bolt *raftboltdb.BoltStore) (logs raft.LogStore, closer io.Closer, err error) {
	format, err := n.logFormat(raftDir, bolt)
	if err != nil {
		return nil, nil, err
	}
	if format == RaftLogBolt {
		return bolt, nil, nil
	}
	w, err := openWAL(raftDir, n.raftLog)
	if err != nil {
		return nil, nil, fmt.Errorf("node: opening the Raft log in %s: %w", walDir(raftDir), err)
	}
	return w, w, nil
}

func (n *Node) logFormat(raftDir string, bolt *raftboltdb.BoltStore) (string, error) {
	want := n.cfg.RaftLogFormat
	has := ""
	if _, err := os.Stat(walDir(raftDir)); err == nil {
		has = RaftLogWAL
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("node: %w", err)
	} else if last, err := bolt.LastIndex(); err != nil {
		return "", fmt.Errorf("node: reading the Raft log in %s: %w", raftDir, err)
	} else if last > 0 {
		has = RaftLogBolt
	}
	if has == "" {
		return want, nil
	}
	if has != want {
		n.log.Warn("this data dir keeps the Raft log format it was created with", "format", has, "raft_log_format", want)
	}
	return has, nil
}

// walStore is the WAL with its metadata file, which WAL.Close leaves
// open (and locked: a second open in this process would wait forever).
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w walStore) Close() error {
	return errors.Join(w.WAL.Close(), w.meta.Close())
}

func openWAL(raftDir string, logger hclog.Logger) (walStore, error) {
	dir := walDir(raftDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return walStore{}, err
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	meta := &metadb.BoltMetaDB{}
	opened, err := wal.Open(dir, wal.WithLogger(logger), wal.WithMetaStore(meta),
		wal.WithSegmentFiler(segment.NewFiler(dir, privateFS{walfs.New()})))
	if err != nil {
		meta.Close()
		return walStore{}, err
	}
	w := walStore{opened, meta}
	// Its metadata file (which segments hold which entries) is created
	// 0644 at the first open.
	entries, err := os.ReadDir(dir)
	for _, e := range entries {
		if err == nil && e.Type().IsRegular() {
			err = os.Chmod(filepath.Join(dir, e.Name()), 0o600)
		}
	}
	if err != nil {
		w.Close()
		return walStore{}, err
	}
	return w, nil
}

// privateFS creates the WAL's segment files readable by this user only, as
// every other file of the data dir (raft-wal makes them 0644).
type privateFS struct{ *walfs.FS }

func (p privateFS) Create(dir, name string, size uint64) (waltypes.WritableFile, error) {
	f, err := p.FS.Create(dir, name, size)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Join(dir, name), 0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
