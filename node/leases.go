package node

import (
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// leases is the leader's soft state about live workers: the last time each
// claim was heard from, and which invocations this leader is itself
// waiting on. It is never replicated; a new leader rebuilds it from the
// FSM and starts every lease afresh after its barrier.
type leases struct {
	mu sync.Mutex
	// seen: the last heartbeat (or any call) of the task's current epoch.
	seen map[fsm.TaskKey]leaseEntry
	// invoking: tasks whose invocation this leader started and is still
	// waiting on; their outcome arrives with the invocation's result.
	invoking map[fsm.TaskKey]uint64
}

type leaseEntry struct {
	epoch uint64
	at    time.Time
	// heard: the worker of this epoch called this leader (a lease
	// started by a new leader or a launch is not yet a sign of life).
	heard bool
}

func newLeases() *leases {
	return &leases{seen: map[fsm.TaskKey]leaseEntry{}, invoking: map[fsm.TaskKey]uint64{}}
}

// heartbeat renews the lease of the claim's epoch; the caller has checked
// that the claim is current (or is about to commit a call of it).
func (l *leases) heartbeat(ref *pb.TaskRef) {
	k := fsm.TaskKey{Job: ref.GetJobId(), Task: ref.GetTaskId()}
	l.mu.Lock()
	if e, ok := l.seen[k]; !ok || e.epoch <= ref.GetEpoch() {
		l.seen[k] = leaseEntry{epoch: ref.GetEpoch(), at: time.Now(), heard: true}
	}
	l.mu.Unlock()
}

// reset starts every lease now: called when this node becomes leader, so a
// new leader gives every running task a full lease before judging it.
func (l *leases) reset(claimed map[fsm.TaskKey]uint64) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = map[fsm.TaskKey]leaseEntry{}
	for k, epoch := range claimed {
		l.seen[k] = leaseEntry{epoch: epoch, at: now}
	}
	l.invoking = map[fsm.TaskKey]uint64{}
}

func (l *leases) startInvoking(k fsm.TaskKey, epoch uint64) {
	l.mu.Lock()
	l.invoking[k] = epoch
	l.seen[k] = leaseEntry{epoch: epoch, at: time.Now()}
	l.mu.Unlock()
}

func (l *leases) doneInvoking(k fsm.TaskKey, epoch uint64) {
	l.mu.Lock()
	if l.invoking[k] == epoch {
		delete(l.invoking, k)
	}
	l.mu.Unlock()
}

// expired returns which of the claimed tasks (key → current epoch) have
// gone a whole lease without a sign of life and are not being invoked by
// this leader.
func (l *leases) expired(claimed map[fsm.TaskKey]uint64, lease time.Duration) []fsm.TaskKey {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []fsm.TaskKey
	for k, epoch := range claimed {
		if l.invoking[k] == epoch {
			continue
		}
		e, ok := l.seen[k]
		if !ok || e.epoch != epoch {
			// First sight of this epoch (launched by an earlier leader):
			// its lease starts now.
			l.seen[k] = leaseEntry{epoch: epoch, at: now}
			continue
		}
		if now.Sub(e.at) > lease {
			out = append(out, k)
		}
	}
	for k := range l.seen {
		if _, ok := claimed[k]; !ok {
			delete(l.seen, k)
		}
	}
	return out
}

// confirmed counts the claimed tasks (key → current epoch) whose worker
// has called this leader: a drill's "every task confirmed".
func (l *leases) confirmed(claimed map[fsm.TaskKey]uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := 0
	for k, epoch := range claimed {
		if e, ok := l.seen[k]; ok && e.epoch == epoch && e.heard {
			c++
		}
	}
	return c
}
