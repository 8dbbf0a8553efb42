package node

import (
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

func TestParseUnsafeNeedsTheEnvironment(t *testing.T) {
	t.Setenv(UnsafeEnv, "")
	if _, err := ParseUnsafe([]string{"no-dedup"}); err == nil || !strings.Contains(err.Error(), "KAPPA_UNSAFE_TEST=1") {
		t.Fatalf("want a refusal naming the variable, got %v", err)
	}
	if u, err := ParseUnsafe(nil); err != nil || u != (UnsafeFaults{}) {
		t.Fatalf("no switch: %v %v", u, err)
	}
	t.Setenv(UnsafeEnv, "1")
	u, err := ParseUnsafe([]string{"no-dedup", "no-fencing", "eager-gc", "no-fsync"})
	if err != nil || !u.FSM.NoDedup || !u.FSM.NoFencing || !u.EagerGC || !u.NoFsync {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := ParseUnsafe([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("want an unknown-switch error, got %v", err)
	}
}

// The write-back log answers from its buffer until it flushes, and what a
// crash before the flush leaves in the store lacks the newest entries.
func TestWriteBackLogLosesUnflushedEntries(t *testing.T) {
	under := raft.NewInmemStore()
	w := &writeBack{LogStore: under, done: make(chan struct{})}
	w.StoreLogs([]*raft.Log{{Index: 1, Data: []byte("a")}, {Index: 2, Data: []byte("b")}})
	if last, _ := w.LastIndex(); last != 2 {
		t.Fatalf("last index %d", last)
	}
	var l raft.Log
	if err := w.GetLog(2, &l); err != nil || string(l.Data) != "b" {
		t.Fatalf("%v %v", l, err)
	}
	if last, _ := under.LastIndex(); last != 0 {
		t.Fatalf("the store already has %d entries before a flush", last)
	}
	w.flush()
	if last, _ := under.LastIndex(); last != 2 {
		t.Fatalf("after the flush the store has up to %d", last)
	}
}
