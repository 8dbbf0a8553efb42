// Package nemesis attacks a running cluster on a seeded random schedule:
// node SIGKILLs and restarts (leader, random node, majority), SIGSTOP and
// SIGCONT pauses, network partitions (isolated leader, majority/minority,
// bridge, one-way), delay and loss, SIGKILLs and SIGSTOPs of lambda
// workers inside an invocation, a Redis restart, a leadership transfer and
// a membership change. Each fault is applied, held, healed, checked for
// having hit something, and timed until the cluster serves a linearizable
// read again; the timeline is printed as it happens.
package nemesis

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
)

// Kinds of fault, in the order the report lists them.
const (
	KillLeader        = "kill-leader"
	KillRandom        = "kill-random"
	KillMajority      = "kill-majority"
	KillAll           = "kill-all" // a power loss of every node (for the no-fsync switch)
	PauseLeader       = "pause-leader"
	PauseFollower     = "pause-follower"
	PartitionLeader   = "partition-leader"
	PartitionMajority = "partition-majority"
	PartitionBridge   = "partition-bridge"
	OneWay            = "one-way"
	PartitionClients  = "partition-clients" // the leader's replies to clients and lambdas are dropped
	SlowNet           = "delay-loss"
	KillLambdas       = "kill-lambdas"
	PauseLambdas      = "pause-lambdas" // SIGSTOP workers past their lease, move the leader, SIGCONT: zombies
	RestartRedis      = "restart-redis"
	TransferLeader    = "transfer-leader"
	Membership        = "membership"
)

// All is every kind.
var All = []string{KillLeader, KillRandom, KillMajority, PauseLeader, PauseFollower, PartitionLeader, PartitionMajority,
	PartitionBridge, OneWay, PartitionClients, SlowNet, KillLambdas, PauseLambdas, RestartRedis, TransferLeader, Membership}

// Event is one fault in the timeline.
type Event struct {
	Kind     string        `json:"kind"`
	Detail   string        `json:"detail"`
	At       time.Duration `json:"at_ns"`             // since the schedule started
	Held     time.Duration `json:"held_ns"`           // from the fault to its heal
	Recovery time.Duration `json:"recovery_ns"`       // from the fault to a served linearizable read
	Skipped  string        `json:"skipped,omitempty"` // not injected: why
	Missed   string        `json:"missed,omitempty"`  // injected but observably hit nothing: why
}

// Fired says whether the fault was injected and observably hit something.
func (e Event) Fired() bool { return e.Skipped == "" && e.Missed == "" }

// Nemesis runs faults against one cluster.
type Nemesis struct {
	C     *harness.Cluster
	Redis *harness.Redis // nil: no Redis restarts
	// Probe is a linearizable read that succeeds once the cluster serves.
	Probe func(ctx context.Context) error
	Log   func(format string, args ...any)

	rng     *rand.Rand
	start   time.Time
	mu      sync.Mutex
	events  []Event
	removed map[*harness.Node]bool
}

// New makes a nemesis whose choices all come from seed.
func New(c *harness.Cluster, seed int64) *Nemesis {
	return &Nemesis{C: c, rng: rand.New(rand.NewSource(seed)), Log: func(string, ...any) {}, removed: map[*harness.Node]bool{}}
}

// Run applies faults drawn from kinds (in order when ordered, else at
// random) until d has passed, pausing gap between them, then heals all.
func (n *Nemesis) Run(ctx context.Context, kinds []string, ordered bool, d, gap time.Duration) {
	n.start = time.Now()
	for i := 0; time.Since(n.start) < d && ctx.Err() == nil; i++ {
		kind := kinds[i%len(kinds)]
		if !ordered {
			kind = kinds[n.rng.Intn(len(kinds))]
		}
		hold := time.Duration(3+n.rng.Intn(5)) * time.Second
		if kind == PartitionClients {
			// Longer than a worker's call timeout (15 s), so calls whose
			// reply was dropped are re-sent elsewhere.
			hold = 20 * time.Second
		}
		if kind == PauseLambdas {
			// Past the lease (3 heartbeats + 2 s = 8 s by default), so the
			// paused workers' tasks are relaunched before they resume.
			hold = 12 * time.Second
		}
		n.one(ctx, kind, hold)
		select {
		case <-ctx.Done():
		case <-time.After(gap/2 + time.Duration(n.rng.Int63n(int64(gap)))):
		}
	}
	n.HealAll()
}

// Events is the timeline so far.
func (n *Nemesis) Events() []Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Event(nil), n.events...)
}

func (n *Nemesis) one(ctx context.Context, kind string, hold time.Duration) {
	ev := Event{Kind: kind, At: time.Since(n.start)}
	heal, detail, err := n.inject(kind, hold)
	ev.Detail = detail
	if err != nil {
		ev.Skipped = err.Error()
		n.Log("%8s  %-18s skipped: %v", ev.At.Round(time.Millisecond), kind, err)
		n.record(ev)
		return
	}
	n.Log("%8s  %-18s %s", ev.At.Round(time.Millisecond), kind, detail)
	// Recovery counts from the fault: a read served during the hold (a new
	// leader elected by the majority) ends it early.
	t0 := time.Now()
	type probed struct {
		d  time.Duration
		ok bool
	}
	served := make(chan probed, 1)
	pctx, stopProbe := context.WithCancel(ctx)
	go func() { d, ok := n.recover(pctx); served <- probed{d, ok} }()
	select {
	case <-ctx.Done():
	case <-time.After(hold):
	}
	result, missed := heal()
	ev.Held = time.Since(t0)
	if result != "" {
		ev.Detail += "; " + result
	}
	ev.Missed = missed
	stopProbe()
	if p := <-served; p.ok {
		ev.Recovery = p.d
	} else {
		d, _ := n.recover(ctx)
		ev.Recovery = ev.Held + d
	}
	n.Log("%8s  %-18s healed after %s; served again %s after the fault", time.Since(n.start).Round(time.Millisecond), kind,
		ev.Held.Round(time.Millisecond), ev.Recovery.Round(time.Millisecond))
	if result != "" {
		n.Log("          %-18s %s", kind, result)
	}
	if missed != "" {
		n.Log("          %-18s HIT NOTHING: %s", kind, missed)
	}
	n.record(ev)
}

func (n *Nemesis) record(ev Event) {
	n.mu.Lock()
	n.events = append(n.events, ev)
	n.mu.Unlock()
}

// recover waits until the probe succeeds (or ctx ends, or 3 minutes
// pass) and returns how long it waited.
func (n *Nemesis) recover(ctx context.Context) (time.Duration, bool) {
	t0 := time.Now()
	for ctx.Err() == nil && time.Since(t0) < 3*time.Minute {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := n.Probe(pctx)
		cancel()
		if err == nil {
			return time.Since(t0), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(t0), false
}

// live are the nodes in the cluster now (not removed by a membership change).
func (n *Nemesis) live() []*harness.Node {
	var out []*harness.Node
	for _, nd := range n.C.Nodes {
		if !n.removed[nd] {
			out = append(out, nd)
		}
	}
	return out
}

func (n *Nemesis) leader() (*harness.Node, error) {
	for i := 0; i < 100; i++ {
		if l := n.C.Leader(); l != nil {
			return l, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("no leader")
}

func (n *Nemesis) followers(l *harness.Node) []*harness.Node {
	var out []*harness.Node
	for _, nd := range n.live() {
		if nd != l {
			out = append(out, nd)
		}
	}
	return out
}

func (n *Nemesis) pick(nodes []*harness.Node) *harness.Node { return nodes[n.rng.Intn(len(nodes))] }

func ids(nodes []*harness.Node) string {
	var s []string
	for _, nd := range nodes {
		s = append(s, nd.ID)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func indexes(nodes []*harness.Node) []int {
	var out []int
	for _, nd := range nodes {
		out = append(out, nd.Index)
	}
	return out
}

// HealAll undoes everything: the network healed, paused nodes resumed,
// dead nodes restarted (Redis is restarted by its own heal).
func (n *Nemesis) HealAll() {
	if net := n.C.Net(); net != nil {
		net.Heal()
	}
	for _, nd := range n.C.Nodes {
		if nd.Paused() {
			n.C.Resume(nd)
		}
		if !nd.Running() {
			n.C.Restart(nd)
		}
	}
}
