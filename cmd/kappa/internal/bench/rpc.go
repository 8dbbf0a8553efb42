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
	Out        io.Writer     // the results table
}

// rpcLevel is one concurrency level of the throughput benchmark.
type rpcLevel struct {
	tasks    int
	duration time.Duration
	claimed  sync.WaitGroup
	start    chan struct{}
	end      time.Time

	mu        sync.Mutex
	latencies []time.Duration
	errors    int
}

// RPC measures committed task RPCs per second and their latency at each
// number of concurrent tasks, and how many commands the leader batches
// into one log entry.
func RPC(o RPCOptions) error {
	var mu sync.Mutex
	byJob := map[uint64]*rpcLevel{}
	var sim *simLambdas
	run := func(spec node.InvocationSpec) {
		mu.Lock()
		lv := byJob[spec.Job]
		mu.Unlock()
		if lv != nil {
			lv.simulate(sim, spec)
		}
	}
	c, s, stop, err := startCluster(o.Binary, o.Nodes, run, "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer stop()
	sim = s
	fmt.Fprintf(o.Out, "| concurrent tasks | committed RPCs/s | p50 | p99 | calls | commands per log entry |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, n := range o.Tasks {
		lv := &rpcLevel{tasks: n, duration: o.Duration, start: make(chan struct{})}
		lv.claimed.Add(n)
		mu.Lock()
		job, err := submitSim(c.Client(), fmt.Sprintf(`{"n": %d}`, n))
		if err == nil {
			byJob[job] = lv
		}
		mu.Unlock()
		if err != nil {
			return err
		}
		lv.claimed.Wait()
		entries0, commands0 := leaderCounters(c)
		lv.end = time.Now().Add(o.Duration)
		close(lv.start)
		if o.ProfileDir != "" {
			profileLeader(c, o.ProfileDir, n, o.Duration)
		}
		time.Sleep(time.Until(lv.end))
		entries1, commands1 := leaderCounters(c)
		time.Sleep(200 * time.Millisecond)
		batch := 0.0
		if entries1 > entries0 {
			batch = (commands1 - commands0) / (entries1 - entries0)
		}
		fmt.Fprintf(o.Out, "%s %.1f |\n", lv.row(), batch)
	}
	return nil
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
	lv.claimed.Done()
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

func (lv *rpcLevel) row() string {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	sort.Slice(lv.latencies, func(a, b int) bool { return lv.latencies[a] < lv.latencies[b] })
	n := len(lv.latencies)
	if n == 0 {
		return fmt.Sprintf("| %d | 0 | - | - | 0 (%d errors) |", lv.tasks, lv.errors)
	}
	return fmt.Sprintf("| %d | %.0f | %s | %s | %d |", lv.tasks, float64(n)/lv.duration.Seconds(),
		pct(lv.latencies, 0.50), pct(lv.latencies, 0.99), n)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i].Round(10 * time.Microsecond)
}

// profileLeader saves a CPU profile of the leader, taken during a run.
func profileLeader(c *proccluster.Cluster, dir string, tasks int, d time.Duration) {
	leader := c.Leader()
	if leader == nil {
		return
	}
	addr := metricsAddr(c, leader)
	if addr == "" {
		return
	}
	secs := int(d.Seconds()) - 1
	if secs < 1 {
		secs = 1
	}
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
		if err != nil {
			return
		}
		defer resp.Body.Close()
		os.MkdirAll(dir, 0o755)
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("leader-%d-tasks.pprof", tasks)))
		if err != nil {
			return
		}
		defer f.Close()
		io.Copy(f, resp.Body)
	}()
}

// metricsAddr reads the metrics address a node logged at start.
func metricsAddr(c *proccluster.Cluster, n *proccluster.Node) string {
	for _, line := range strings.Split(c.Log(n), "\n") {
		if i := strings.Index(line, "metrics="); i >= 0 {
			return strings.Fields(line[i+len("metrics="):])[0]
		}
	}
	return ""
}

// leaderCounters scrapes the leader's proposal counters (entries, commands).
func leaderCounters(c *proccluster.Cluster) (entries, commands float64) {
	leader := c.Leader()
	if leader == nil {
		return 0, 0
	}
	resp, err := http.Get("http://" + metricsAddr(c, leader) + "/metrics")
	if err != nil {
		return 0, 0
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
			entries = v
		case "kappa_commands_proposed_total":
			commands = v
		}
	}
	return entries, commands
}
