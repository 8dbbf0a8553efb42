package node

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// replica adapts the pure fsm.Machine to raft.FSM: it decodes entries,
// guards the machine with a lock for concurrent readers, and signals every
// change to the loops that watch the state (launcher, job watchers).
type replica struct {
	mu      sync.RWMutex
	m       *fsm.Machine
	changed *broadcast
	// snapshotTaken and restored feed the metrics (nil: not counted).
	snapshotTaken func(took time.Duration, size int)
	restored      func()
	// halted: an entry this build cannot apply was met; nothing more is
	// applied (onHalt is told once).
	halted error
	onHalt func(error)
	// clock at clockAt anchors this node's reading of the cluster clock
	// (guarded by mu): see clusterClock.
	clock   int64
	clockAt time.Time
}

func newReplica(unsafe fsm.Unsafe) *replica {
	m := fsm.New()
	m.SetUnsafe(unsafe)
	return &replica{m: m, changed: newBroadcast(), clockAt: time.Now()}
}

// clusterClock is the cluster clock as this node reads it now: a clock
// it applied plus the time that passed here since (Go's monotonic clock).
// A leader stamps it on its commands. Every stamp is thus a committed
// clock plus a duration some node really measured: the cluster clock
// never runs ahead of real time, whatever any node's wall clock says; it
// only lags, by the moments no leader was counting (an election).
func (r *replica) clusterClock() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// At least 1: a clock of 0 is "none" (before command version 2).
	return max(r.clock+time.Since(r.clockAt).Milliseconds(), 1)
}

// noteClock adopts an applied clock that is ahead of this node's reading
// (under mu). A leader's own stamps never are, so its reading runs on
// undisturbed by the time its commands take to commit.
func (r *replica) noteClock() {
	now := time.Now()
	if c := r.m.Clock(); c > r.clock+now.Sub(r.clockAt).Milliseconds() {
		r.clock, r.clockAt = c, now
	}
}

// Apply is called by raft for every committed log entry, in order.
func (r *replica) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var e pb.Entry
	if err := proto.Unmarshal(l.Data, &e); err != nil {
		// Every replica refuses the same bytes the same way, so the state
		// stays identical; the proposer sees the error.
		return fmt.Errorf("node: log entry %d does not decode: %w", l.Index, err)
	}
	r.mu.Lock()
	if r.halted == nil {
		if err := r.m.CheckEntry(l.Index, &e); err != nil {
			r.halted = err
			if r.onHalt != nil {
				r.onHalt(err)
			}
		}
	}
	if r.halted != nil {
		r.mu.Unlock()
		return r.halted
	}
	results := r.m.Apply(l.Index, &e)
	r.noteClock()
	r.mu.Unlock()
	r.changed.notify()
	return results
}

// read runs f with the machine under the read lock.
func (r *replica) read(f func(m *fsm.Machine)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f(r.m)
}

// Snapshot marshals the state while raft holds off applies, so the bytes
// are a consistent cut; Persist only writes them out.
func (r *replica) Snapshot() (raft.FSMSnapshot, error) {
	started := time.Now()
	r.mu.RLock()
	data, err := r.m.MarshalState()
	r.mu.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("node: snapshot: %w", err)
	}
	return &snapshot{data: data, started: started, taken: r.snapshotTaken}, nil
}

func (r *replica) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("node: restore: reading the snapshot: %w", err)
	}
	r.mu.Lock()
	err = r.m.Restore(data)
	r.noteClock()
	r.mu.Unlock()
	r.changed.notify()
	if err == nil && r.restored != nil {
		r.restored()
	}
	return err
}

type snapshot struct {
	data    []byte
	started time.Time
	taken   func(took time.Duration, size int)
}

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		sink.Cancel()
		return fmt.Errorf("node: snapshot: writing: %w", err)
	}
	err := sink.Close()
	if err == nil && s.taken != nil {
		s.taken(time.Since(s.started), len(s.data))
	}
	return err
}

func (s *snapshot) Release() {}

// broadcast wakes every waiter once per change: waiters take the current
// channel, and notify closes it and installs a fresh one.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func newBroadcast() *broadcast { return &broadcast{ch: make(chan struct{})} }

// wait returns a channel that is closed at the next change.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	close(b.ch)
	b.ch = make(chan struct{})
	b.mu.Unlock()
}
