package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// RPCOptions configure the throughput benchmark.
type RPCOptions struct {
	Binary     string        // the kappa binary the servers run
	Tasks      []int         // numbers of concurrent simulated tasks, one run each
	Duration   time.Duration // measured time per run
	Nodes      int           // cluster size
	ProfileDir string        // save a CPU profile of the leader during each run here ("": none)
	// RaftLogFormat is the servers' --raft-log-format ("": their default).
	RaftLogFormat string
	// TLS lists the clusters each level runs on, in turn: true with TLS
	// on every port (the default), false in plaintext (--insecure). Both
	// alternate per level, so drift of the machine hits both alike.
	TLS []bool
	Out io.Writer // the results table
}

// rpcLevel is one concurrency level of the throughput benchmark.
type rpcLevel struct {
	tasks    int
	duration time.Duration
	claimed  sync.WaitGroup
	counted  sync.Map // task id → counted in claimed (a relaunch is not counted again)
	start    chan struct{}
	end      time.Time

	mu        sync.Mutex
	latencies []time.Duration
	errors    int
}

// RPC measures committed task RPCs per second and their latency at each
// number of concurrent tasks, and how many commands the leader batches
// into one log entry; each level runs on a fresh cluster of each TLS mode.
func RPC(o RPCOptions) error {
	modes := o.TLS
	if len(modes) == 0 {
		modes = []bool{true}
	}
	fmt.Fprintf(o.Out, "| concurrent tasks | TLS | committed RPCs/s | p50 | p99 | calls | commands per log entry | leader commit (mean) | elections |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, n := range o.Tasks {
		for _, secure := range modes {
			row, err := rpcRun(o, n, secure)
			if err != nil {
				return err
			}
			fmt.Fprintln(o.Out, row)
		}
	}
	return nil
}

// rpcRun measures one level on a cluster of its own.
func rpcRun(o RPCOptions, n int, secure bool) (string, error) {
	lv := &rpcLevel{tasks: n, duration: o.Duration, start: make(chan struct{})}
	lv.claimed.Add(n)
	var sim *simLambdas
	ready := make(chan struct{})
	run := func(spec node.InvocationSpec) {
		<-ready
		lv.simulate(sim, spec)
	}
	bc := benchCluster{nodes: o.Nodes, insecure: !secure, metrics: true}
	if o.ProfileDir != "" {
		bc.extra = append(bc.extra, "--pprof")
	}
	if o.RaftLogFormat != "" {
		bc.extra = append(bc.extra, "--raft-log-format", o.RaftLogFormat)
	}
	c, s, metrics, stop, err := startCluster(o.Binary, bc, run)
	if err != nil {
		return "", err
	}
	defer stop()
	sim = s
	close(ready)
	if _, err := submitSim(c.Client(), fmt.Sprintf(`{"n": %d}`, n)); err != nil {
		return "", err
	}
	lv.claimed.Wait()
	scrape := leaderMetrics{c: c, addrs: metrics}
	c0 := scrape.counters()
	lv.end = time.Now().Add(o.Duration)
	close(lv.start)
	if o.ProfileDir != "" {
		name := fmt.Sprintf("leader-%d-tasks.pprof", n)
		if !secure {
			name = fmt.Sprintf("leader-%d-tasks-insecure.pprof", n)
		}
		scrape.profile(o.ProfileDir, name, o.Duration)
	}
	time.Sleep(time.Until(lv.end))
	c1 := scrape.counters()
	time.Sleep(200 * time.Millisecond)
	batch, commit := 0.0, time.Duration(0)
	if c1.entries > c0.entries {
		batch = (c1.commands - c0.commands) / (c1.entries - c0.entries)
	}
	if c1.commits > c0.commits {
		commit = time.Duration((c1.commitSeconds - c0.commitSeconds) / (c1.commits - c0.commits) * float64(time.Second))
	}
	mode := "off"
	if secure {
		mode = "on"
	}
	// The leader's commit time is from handing an entry to raft to its
	// result (the rest of p50 is the client's call and the proposer's
	// queue). Elections during the run (the leader's term rising): on a
	// healthy cluster under load, none.
	return fmt.Sprintf("%s %.1f | %s | %.0f |", lv.row(mode), batch, commit.Round(10*time.Microsecond), max(c1.term-c0.term, 0)), nil
}

// simulate is one task's invocation: the root spawns the level's tasks and
// waits; each child checkpoints as fast as it can until the window ends.
func (lv *rpcLevel) simulate(sim *simLambdas, spec node.InvocationSpec) {
	ctx := context.Background()
	t, g, err := sim.claim(ctx, spec)
	if err != nil {
		return
	}
	if spec.Task == 1 {
		t.spawnAndWait(ctx, g, lv.tasks)
		return
	}
	// On a loaded machine a slow first claim can be relaunched: the task
	// is waited for once, whichever invocation gets it.
	if _, again := lv.counted.LoadOrStore(spec.Task, true); !again {
		lv.claimed.Done()
	}
	<-lv.start
	var lat []time.Duration
	errs := 0
	for time.Now().Before(lv.end) {
		t0 := time.Now()
		if err := t.checkpoint(ctx); err != nil {
			errs++
			continue
		}
		if done := time.Now(); done.Before(lv.end) {
			lat = append(lat, done.Sub(t0))
		}
	}
	t.exit(ctx)
	lv.mu.Lock()
	lv.latencies = append(lv.latencies, lat...)
	lv.errors += errs
	lv.mu.Unlock()
}

func (lv *rpcLevel) row(mode string) string {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	sort.Slice(lv.latencies, func(a, b int) bool { return lv.latencies[a] < lv.latencies[b] })
	n := len(lv.latencies)
	if n == 0 {
		return fmt.Sprintf("| %d | %s | 0 | - | - | 0 (%d errors) |", lv.tasks, mode, lv.errors)
	}
	return fmt.Sprintf("| %d | %s | %.0f | %s | %s | %d |", lv.tasks, mode, float64(n)/lv.duration.Seconds(),
		pct(lv.latencies, 0.50), pct(lv.latencies, 0.99), n)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i].Round(10 * time.Microsecond)
}

// leaderMetrics reads the leader's metrics port (over TLS with the
// cluster's admin certificate, or plain HTTP for an insecure cluster).
type leaderMetrics struct {
	c     *proccluster.Cluster
	addrs []string // by node index
}

// get fetches path from the current leader's metrics port.
func (m leaderMetrics) get(path string) (*http.Response, error) {
	leader := m.c.Leader()
	if leader == nil {
		return nil, fmt.Errorf("no leader")
	}
	base, client, err := m.c.NodeHTTP(m.addrs[leader.Index])
	if err != nil {
		return nil, err
	}
	return client.Get(base + path)
}

// profile saves a CPU profile of the leader, taken during a run.
func (m leaderMetrics) profile(dir, name string, d time.Duration) {
	secs := max(int(d.Seconds())-1, 1)
	go func() {
		resp, err := m.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		os.MkdirAll(dir, 0o755)
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return
		}
		defer f.Close()
		io.Copy(f, resp.Body)
	}()
}

// leaderCounters are the leader's proposal counters, the sum and count
// of its commit times, and its Raft term.
type leaderCounters struct {
	entries, commands, commitSeconds, commits, term float64
}

// counters scrapes the leader's counters.
func (m leaderMetrics) counters() (c leaderCounters) {
	resp, err := m.get("/metrics")
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "kappa_log_entries_proposed_total":
			c.entries = v
		case "kappa_commands_proposed_total":
			c.commands = v
		case "kappa_commit_seconds_sum":
			c.commitSeconds = v
		case "kappa_commit_seconds_count":
			c.commits = v
		case "kappa_raft_term":
			c.term = v
		}
	}
	return c
}
