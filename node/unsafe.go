package node

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/fsm"
)

// UnsafeFaults are test-only switches that break a guarantee on purpose,
// so the Jepsen-style checkers can be shown to catch each break. The
// server accepts them only when KAPPA_UNSAFE_TEST=1 (ParseUnsafe).
type UnsafeFaults struct {
	FSM fsm.Unsafe
	// EagerGC deletes a running job's checkpoints even when the FSM still
	// refers to them (the live checkpoint included).
	EagerGC bool
	// NoFsync opens the Raft log without fsync and keeps the newest
	// entries in a write-back buffer flushed once a second: a SIGKILL of
	// the node then acts as a power loss of a disk without fsync, losing
	// entries the node had acknowledged.
	NoFsync bool
}

// UnsafeEnv must be "1" for ParseUnsafe to accept any switch.
const UnsafeEnv = "KAPPA_UNSAFE_TEST"

// UnsafeNames are the switches ParseUnsafe knows.
var UnsafeNames = []string{"no-dedup", "no-fencing", "eager-gc", "no-fsync"}

// ParseUnsafe turns switch names into UnsafeFaults, refusing them all
// unless KAPPA_UNSAFE_TEST=1.
func ParseUnsafe(names []string) (UnsafeFaults, error) {
	var u UnsafeFaults
	if len(names) == 0 {
		return u, nil
	}
	if os.Getenv(UnsafeEnv) != "1" {
		return u, fmt.Errorf("--unsafe-test-fault breaks correctness on purpose and is for tests only: set %s=1 to allow it", UnsafeEnv)
	}
	for _, name := range names {
		switch name {
		case "no-dedup":
			u.FSM.NoDedup = true
		case "no-fencing":
			u.FSM.NoFencing = true
		case "eager-gc":
			u.EagerGC = true
		case "no-fsync":
			u.NoFsync = true
		default:
			return u, fmt.Errorf("unknown --unsafe-test-fault %q (known: %v)", name, UnsafeNames)
		}
	}
	return u, nil
}

// writeBack is a raft.LogStore that acknowledges entries before they reach
// the underlying store and flushes them once a second: what a log without
// fsync looks like to a power loss.
type writeBack struct {
	raft.LogStore
	mu      sync.Mutex
	pending []*raft.Log
	done    chan struct{}
}

func newWriteBack(s raft.LogStore) *writeBack {
	w := &writeBack{LogStore: s, done: make(chan struct{})}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
				w.flush()
			}
		}
	}()
	return w
}

func (w *writeBack) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 && w.LogStore.StoreLogs(w.pending) == nil {
		w.pending = nil
	}
}

func (w *writeBack) close() { close(w.done) }

func (w *writeBack) StoreLog(l *raft.Log) error { return w.StoreLogs([]*raft.Log{l}) }

func (w *writeBack) StoreLogs(logs []*raft.Log) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range logs {
		c := *l
		w.pending = append(w.pending, &c)
	}
	return nil
}

func (w *writeBack) GetLog(index uint64, out *raft.Log) error {
	w.mu.Lock()
	for i := len(w.pending) - 1; i >= 0; i-- {
		if w.pending[i].Index == index {
			*out = *w.pending[i]
			w.mu.Unlock()
			return nil
		}
	}
	w.mu.Unlock()
	return w.LogStore.GetLog(index, out)
}

func (w *writeBack) LastIndex() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.pending); n > 0 {
		return w.pending[n-1].Index, nil
	}
	return w.LogStore.LastIndex()
}

func (w *writeBack) FirstIndex() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	first, err := w.LogStore.FirstIndex()
	if err == nil && first == 0 && len(w.pending) > 0 {
		first = w.pending[0].Index
	}
	return first, err
}

// DeleteRange writes the buffer first, so a truncation sees every entry.
func (w *writeBack) DeleteRange(min, max uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		if err := w.LogStore.StoreLogs(w.pending); err != nil {
			return err
		}
		w.pending = nil
	}
	return w.LogStore.DeleteRange(min, max)
}
