package bench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/node"
)

// failoverTasks are simulated tasks that behave like real workers between
// checkpoints: a committed call every interval and a heartbeat at the
// heartbeat interval the leader asked for, recording when each succeeded.
type failoverTasks struct {
	interval time.Duration
	stop     chan struct{}

	mu      sync.Mutex
	running map[uint64]bool        // task id → claimed and running
	calls   []time.Time            // successful committed calls, any task
	alive   map[uint64][]time.Time // per task: successful calls and heartbeats
	acked   map[uint64]int         // per task: committed calls acknowledged
	// kicks: per task, told to call at once when the leader is killed, so
	// the first committed call measures when the cluster can commit again,
	// not when the next call of the tasks' tickers happened to be due.
	kicks map[uint64]chan struct{}
}

func newFailoverTasks(interval time.Duration) *failoverTasks {
	return &failoverTasks{interval: interval, stop: make(chan struct{}), running: map[uint64]bool{},
		alive: map[uint64][]time.Time{}, acked: map[uint64]int{}, kicks: map[uint64]chan struct{}{}}
}

func (f *failoverTasks) record(task uint64, committed bool) {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alive[task] = append(f.alive[task], now)
	if committed {
		f.calls = append(f.calls, now)
		f.acked[task]++
	}
}

func (f *failoverTasks) simulate(sim *simLambdas, spec node.InvocationSpec, children int) {
	ctx := context.Background()
	t, g, err := sim.claim(ctx, spec)
	if err != nil {
		return
	}
	if spec.Task == 1 {
		t.spawnAndWait(ctx, g, children)
		return
	}
	kick := make(chan struct{}, 1)
	f.mu.Lock()
	f.running[spec.Task] = true
	f.kicks[spec.Task] = kick
	f.mu.Unlock()
	beat := time.NewTicker(time.Duration(spec.HeartbeatMs) * time.Millisecond)
	call := time.NewTicker(f.interval)
	defer beat.Stop()
	defer call.Stop()
	for {
		select {
		case <-f.stop:
			t.exit(ctx)
			return
		case <-beat.C:
			if t.heartbeat(ctx) == nil {
				f.record(spec.Task, false)
			}
		case <-call.C:
			if t.checkpoint(ctx) == nil {
				f.record(spec.Task, true)
			}
		case <-kick:
			if t.checkpoint(ctx) == nil {
				f.record(spec.Task, true)
			}
		}
	}
}

// kickAll has every running task call at once (retrying until a leader
// commits it), as tasks in the middle of their calls at a leader's death do.
func (f *failoverTasks) kickAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// waitRunning waits until n simulated tasks run.
func (f *failoverTasks) waitRunning(n int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		f.mu.Lock()
		running := len(f.running)
		f.mu.Unlock()
		if running >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d simulated tasks run after a minute", running, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recovery measures one leader kill at t0: the first committed call after
// it, and when every running task was confirmed alive (a call or
// heartbeat accepted after t0, or a relaunch).
func (f *failoverTasks) recovery(sim *simLambdas, t0 time.Time, limit time.Duration) (first, all time.Duration, ok bool) {
	deadline := t0.Add(limit)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		f.mu.Lock()
		first = 0
		for _, c := range f.calls {
			if c.After(t0) {
				first = c.Sub(t0)
				break
			}
		}
		relaunched := map[uint64]time.Time{}
		for _, e := range sim.invocationsSince(t0) {
			relaunched[e.spec.Task] = e.at
		}
		all, ok = 0, first > 0
		for task := range f.running {
			seen := time.Time{}
			for _, a := range f.alive[task] {
				if a.After(t0) {
					seen = a
					break
				}
			}
			if r, re := relaunched[task]; re && (seen.IsZero() || r.Before(seen)) {
				seen = r
			}
			if seen.IsZero() {
				ok = false
				break
			}
			all = max(all, seen.Sub(t0))
		}
		f.mu.Unlock()
		if ok {
			return first, all, true
		}
	}
	return first, all, false
}

// FailoverOptions configure the failover benchmark.
type FailoverOptions struct {
	Binary       string        // the kappa binary the servers run
	Trials       int           // leader kills
	Tasks        int           // running simulated tasks
	CallInterval time.Duration // how often each task commits a call (a checkpoint)
	Out          io.Writer     // one line per trial, then the summary table
}

// Failover kills the leader of a three-node cluster again and again and
// times the first committed RPC and every running task's confirmation on
// the new leader.
func Failover(o FailoverOptions) error {
	f := newFailoverTasks(o.CallInterval)
	var sim *simLambdas
	c, s, _, stop, err := startCluster(o.Binary, benchCluster{nodes: 3}, func(spec node.InvocationSpec) { f.simulate(sim, spec, o.Tasks) })
	if err != nil {
		return err
	}
	defer stop()
	sim = s
	if _, err := submitSim(c.Client(), "{}"); err != nil {
		return err
	}
	if err := f.waitRunning(o.Tasks); err != nil {
		return err
	}
	var firsts, alls []time.Duration
	for i := 1; i <= o.Trials; i++ {
		time.Sleep(3 * time.Second)
		leader := c.Leader()
		if leader == nil {
			return fmt.Errorf("trial %d: no leader", i)
		}
		t0 := time.Now()
		c.Kill(leader)
		f.kickAll()
		first, all, ok := f.recovery(sim, t0, 30*time.Second)
		if !ok {
			return fmt.Errorf("trial %d: the cluster did not recover within 30s (first call after %s)", i, first)
		}
		firsts, alls = append(firsts, first), append(alls, all)
		fmt.Fprintf(o.Out, "trial %2d: killed %s; first committed RPC after %s; every task confirmed after %s\n",
			i, leader.ID, first.Round(time.Millisecond), all.Round(time.Millisecond))
		if err := c.Restart(leader); err != nil {
			return err
		}
	}
	close(f.stop)
	fmt.Fprintf(o.Out, "\n| measure (%d trials, %d running tasks) | p50 | max |\n| --- | --- | --- |\n", o.Trials, o.Tasks)
	fmt.Fprintf(o.Out, "| leader SIGKILL → first committed RPC | %s | %s |\n", pctOf(firsts, 0.5), pctOf(firsts, 1))
	fmt.Fprintf(o.Out, "| leader SIGKILL → every running task confirmed | %s | %s |\n", pctOf(alls, 0.5), pctOf(alls, 1))
	return nil
}

func pctOf(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	return pct(s, p).Round(time.Millisecond)
}
