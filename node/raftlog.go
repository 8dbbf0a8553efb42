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

func validRaftLogFormat(f string) error {
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

func openWAL(raftDir string, logger hclog.Logger) (*wal.WAL, error) {
	dir := walDir(raftDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return wal.Open(dir, wal.WithLogger(logger))
}
