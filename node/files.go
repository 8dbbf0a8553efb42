package node

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
)

// A node's data dir holds the Raft log and snapshots (every job's events,
// results and inline values): only the node's own user may read it.
// Directories are 0700 and files 0600; a data dir made by an older build
// (0755 and 0644) is tightened at start, and the change logged.

// securePaths creates the data dir (0700) or tightens what it holds.
func securePaths(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: cannot create data dir %s: %w", dir, err)
	}
	var dirs, files int
	var first string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		tightened, err := tighten(p, d)
		if tightened {
			if d.IsDir() {
				dirs++
			} else {
				files++
			}
			if first == "" {
				first = p
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("node: securing data dir %s: %w", dir, err)
	}
	if dirs+files > 0 {
		log.Warn("tightened data dir permissions: only this user may read the Raft log and snapshots now",
			"dir", dir, "directories", dirs, "files", files, "first", first)
	}
	return nil
}

// tighten takes group and other access away from a directory (to 0700) or
// a regular file (to 0600); it says whether it changed anything.
func tighten(p string, d fs.DirEntry) (bool, error) {
	if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
		return false, nil
	}
	info, err := d.Info()
	if err != nil {
		return false, err
	}
	want := fs.FileMode(0o600)
	if d.IsDir() {
		want = 0o700
	}
	if info.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	return true, os.Chmod(p, want)
}

// privateSnapshots is raft's file snapshot store with every snapshot it
// writes (taken here or installed from the leader) made private: raft
// creates them 0755/0644.
type privateSnapshots struct {
	raft.SnapshotStore
	dir string // where the snapshots' directories are
}

func (s privateSnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	return &privateSink{SnapshotSink: sink, dir: s.dir}, nil
}

type privateSink struct {
	raft.SnapshotSink
	dir string
}

// Close finishes the snapshot (raft renames it into place), then tightens
// its directory and files.
func (p *privateSink) Close() error {
	if err := p.SnapshotSink.Close(); err != nil {
		return err
	}
	return filepath.WalkDir(filepath.Join(p.dir, p.ID()), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		_, err = tighten(path, d)
		return err
	})
}
