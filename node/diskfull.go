package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// A full disk under the Raft state must not make a node flap: left alone,
// a leader whose log write fails steps down, wins the next election (its
// log is as long as anyone's), fails again, about once a second, and
// clients see only "no leader". hashicorp/raft has no switch that stops a
// node from campaigning, so the stores under it make one:
//
//   - The leader's log write fails as it would (raft steps down: once).
//   - Every other write of the Raft state (a follower's log, the term and
//     vote in the stable store) waits while the disk is known to be full.
//     A candidate must save its new term before it asks for a vote, and a
//     follower must save a newer leader's term before it follows it, so a
//     node whose disk is full neither campaigns nor disturbs the others:
//     it sits out like a paused node, and its peers elect a leader among
//     themselves.
//   - A probe writes and removes a file in the Raft dir every
//     diskProbeInterval; the first that succeeds ends the wait, and the
//     node takes part again.
//
// Meanwhile the node says "disk full on DATA_DIR" in its log (once, then
// at most every diskLogInterval with the count of failed writes), in
// `kappa status` and in the kappa_disk_full metric.
const (
	diskProbeInterval = time.Second
	diskProbeBytes    = 1 << 20
	diskLogInterval   = 30 * time.Second
)

// isDiskFull: the write failed for lack of space (or of quota).
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// diskGuard tracks whether the data dir is full and wakes the writes that
// wait for space.
type diskGuard struct {
	dir     string // the data dir, as operators name it
	raftDir string // where the probe writes
	log     *slog.Logger
	closing <-chan struct{}
	raft    atomic.Pointer[raft.Raft] // set once raft runs

	mu       sync.Mutex
	full     bool
	since    time.Time
	cause    error
	fails    uint64 // writes that failed since the disk filled up
	unlogged uint64 // of which not yet in a log line
	logged   time.Time
	space    chan struct{} // closed when the disk has room again
	total    uint64        // failed writes over the node's life (metric)
}

func newDiskGuard(dataDir, raftDir string, log *slog.Logger, closing <-chan struct{}) *diskGuard {
	return &diskGuard{dir: dataDir, raftDir: raftDir, log: log, closing: closing}
}

func (g *diskGuard) isLeader() bool {
	r := g.raft.Load()
	return r != nil && r.State() == raft.Leader
}

// failed records a failed write; it reports whether the disk is full.
func (g *diskGuard) failed(err error) bool {
	if err == nil || !isDiskFull(err) {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total++
	now := time.Now()
	if !g.full {
		g.full, g.since, g.cause, g.fails, g.unlogged, g.logged = true, now, err, 1, 0, now
		g.space = make(chan struct{})
		g.log.Error("disk full on "+g.dir+": Raft writes fail; this node steps down and takes no part in elections until a write succeeds again",
			"err", err, "probe_every", diskProbeInterval)
		go g.probe(g.space)
		return true
	}
	g.fails++
	g.cause = err
	g.unlogged++
	if now.Sub(g.logged) >= diskLogInterval {
		g.log.Error("disk full on "+g.dir+": still", "failed_writes", g.unlogged, "since", g.since.Format(time.RFC3339), "err", err)
		g.unlogged, g.logged = 0, now
	}
	return true
}

// waitSpace blocks while the disk is full; false when the node closes
// first.
func (g *diskGuard) waitSpace() bool {
	g.mu.Lock()
	full, space := g.full, g.space
	g.mu.Unlock()
	if !full {
		return true
	}
	select {
	case <-space:
		return true
	case <-g.closing:
		return false
	}
}

// probe writes a file of diskProbeBytes beside the Raft log until one
// write succeeds, then lets the waiting writes go.
func (g *diskGuard) probe(space chan struct{}) {
	tick := time.NewTicker(diskProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-g.closing:
			return
		case <-tick.C:
		}
		if err := writeProbe(filepath.Join(g.raftDir, ".space-probe")); err != nil {
			continue
		}
		g.mu.Lock()
		g.log.Warn("disk space on "+g.dir+" is back: taking part in elections again",
			"full_for", time.Since(g.since).Round(time.Second), "failed_writes", g.fails)
		g.full = false
		close(space)
		g.mu.Unlock()
		return
	}
}

func writeProbe(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, diskProbeBytes))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	os.Remove(path)
	return err
}

// status is what `kappa status` shows: whether the disk is full and why.
func (g *diskGuard) status() (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.full {
		return false, ""
	}
	return true, fmt.Sprintf("disk full on %s since %s (%d failed writes; last: %v); not taking part in elections until a write succeeds",
		g.dir, g.since.Format(time.RFC3339), g.fails, g.cause)
}

func (g *diskGuard) isFull() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.full
}

func (g *diskGuard) failedWrites() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// retry runs a write of the Raft state, waiting out a full disk; it gives
// up only when the node closes.
func (g *diskGuard) retry(write func() error) error {
	for {
		if !g.waitSpace() {
			return errClosing
		}
		err := write()
		if !g.failed(err) {
			return err
		}
	}
}

var errClosing = errors.New("node: closing while the disk is full")

// guardedLogs is the Raft log store under the guard: the leader's writes
// fail as they are (raft steps down), any other node's wait for space.
type guardedLogs struct {
	raft.LogStore
	g *diskGuard
}

func (s guardedLogs) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s guardedLogs) StoreLogs(logs []*raft.Log) error {
	if s.g.isLeader() {
		err := s.LogStore.StoreLogs(logs)
		s.g.failed(err)
		return err
	}
	return s.g.retry(func() error { return s.LogStore.StoreLogs(logs) })
}

func (s guardedLogs) DeleteRange(lo, hi uint64) error {
	err := s.LogStore.DeleteRange(lo, hi)
	s.g.failed(err)
	return err
}

// keyCurrentTerm is hashicorp/raft's stable-store key of the current term.
var keyCurrentTerm = "CurrentTerm"

// guardedStable is the stable store (term and vote) under the guard.
type guardedStable struct {
	raft.StableStore
	g *diskGuard
}

func (s guardedStable) Set(k, v []byte) error {
	return s.closing(k, s.g.retry(func() error { return s.StableStore.Set(k, v) }))
}

func (s guardedStable) SetUint64(k []byte, v uint64) error {
	return s.closing(k, s.g.retry(func() error { return s.StableStore.SetUint64(k, v) }))
}

// closing: raft panics when it cannot save a new term, so a node that
// closes while waiting for space lets that one write go unsaved. It is
// safe: the node acts on nothing in the new term before it exits (a vote
// it cannot save it does not give), and on restart it is in the old term.
func (s guardedStable) closing(k []byte, err error) error {
	if errors.Is(err, errClosing) && string(k) == keyCurrentTerm {
		s.g.log.Warn("closing while the disk is full: the new Raft term is not saved", "dir", s.g.dir)
		return nil
	}
	return err
}

// guardedSnapshots notes a snapshot that fails for lack of space.
type guardedSnapshots struct {
	raft.SnapshotStore
	g *diskGuard
}

func (s guardedSnapshots) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		s.g.failed(err)
		return nil, err
	}
	return guardedSink{sink, s.g}, nil
}

type guardedSink struct {
	raft.SnapshotSink
	g *diskGuard
}

func (s guardedSink) Write(p []byte) (int, error) {
	n, err := s.SnapshotSink.Write(p)
	s.g.failed(err)
	return n, err
}

func (s guardedSink) Close() error {
	err := s.SnapshotSink.Close()
	s.g.failed(err)
	return err
}
