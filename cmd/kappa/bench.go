package main

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

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the coordinator: committed task RPCs per second and failover times",
		Long: `Starts its own loopback cluster of this binary's servers whose lambdas are
simulated tasks written in Go that speak the real task API (no Python runs),
so the numbers are the coordinator's own.`,
	}
	cmd.AddCommand(newBenchRPCCmd(), newBenchFailoverCmd())
	return cmd
}

// benchCluster starts a cluster wired to simulated lambdas.
func benchCluster(nodes int, run func(node.InvocationSpec), extra ...string) (*localCluster, *simLambdas, *kappaclient.Client, func(), error) {
	sim, err := startSimLambdas(run)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir, err := os.MkdirTemp("", "kappa-bench-")
	if err != nil {
		sim.close()
		return nil, nil, nil, nil, err
	}
	args := append([]string{"--concurrency", "4096", "--lambda-timeout", "15m", "--log-level", "warn"}, extra...)
	c, err := startLocalCluster(dir, nodes, 0, sim.url(), args...)
	if err != nil {
		sim.close()
		return nil, nil, nil, nil, err
	}
	client, err := kappaclient.New(c.addrs())
	if err != nil {
		c.stop()
		sim.close()
		return nil, nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		m, err := client.Members(ctx)
		if err == nil && len(m.GetMembers()) == nodes {
			break
		}
		if ctx.Err() != nil {
			return nil, nil, nil, nil, fmt.Errorf("the bench cluster did not form (logs in %s)", dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop := func() { client.Close(); c.stop(); sim.close(); os.RemoveAll(dir) }
	return c, sim, client, stop, nil
}

// submitSim submits a job whose lambdas are simulated (the program is
// never run; it only has to be a valid bundle).
func submitSim(client *kappaclient.Client, event string) (uint64, error) {
	dir, err := os.MkdirTemp("", "kappa-bench-prog-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "sim.py")
	os.WriteFile(p, []byte("def handler(event, context):\n    pass\n"), 0o644)
	bundle, _, err := checkpoint.BuildBundle(p)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := client.Submit(ctx, bundle, []byte(event), "bench", 0)
	return sub.GetJobId(), err
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

func newBenchRPCCmd() *cobra.Command {
	var levels string
	var duration time.Duration
	var nodes int
	var profileDir string
	cmd := &cobra.Command{
		Use:   "rpc [--tasks 1,16,128,1024] [--duration 10s]",
		Short: "Committed task RPCs per second and their latency at several numbers of concurrent tasks",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var counts []int
			for _, s := range strings.Split(levels, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usageError("--tasks: %q is not a positive number", s)
				}
				counts = append(counts, n)
			}
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
			c, s, client, stop, err := benchCluster(nodes, run, "--metrics-addr", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer stop()
			sim = s
			fmt.Printf("| concurrent tasks | committed RPCs/s | p50 | p99 | calls | commands per log entry |\n| --- | --- | --- | --- | --- | --- |\n")
			for _, n := range counts {
				lv := &rpcLevel{tasks: n, duration: duration, start: make(chan struct{})}
				lv.claimed.Add(n)
				mu.Lock()
				job, err := submitSim(client, fmt.Sprintf(`{"n": %d}`, n))
				if err == nil {
					byJob[job] = lv
				}
				mu.Unlock()
				if err != nil {
					return err
				}
				lv.claimed.Wait()
				entries0, commands0 := leaderCounters(c)
				lv.end = time.Now().Add(duration)
				close(lv.start)
				if profileDir != "" {
					profileLeader(c, profileDir, n, duration)
				}
				time.Sleep(time.Until(lv.end))
				entries1, commands1 := leaderCounters(c)
				time.Sleep(200 * time.Millisecond)
				batch := 0.0
				if entries1 > entries0 {
					batch = (commands1 - commands0) / (entries1 - entries0)
				}
				fmt.Printf("%s %.1f |\n", lv.row(), batch)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&levels, "tasks", "1,16,128,1024", "numbers of concurrent simulated tasks, one run each")
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "measured time per run")
	cmd.Flags().IntVar(&nodes, "nodes", 3, "cluster size")
	cmd.Flags().StringVar(&profileDir, "profile", "", "save a CPU profile of the leader during each run here")
	return cmd
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
func profileLeader(c *localCluster, dir string, tasks int, d time.Duration) {
	leader := c.leader()
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
func metricsAddr(c *localCluster, n *localNode) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, n.id+".log"))
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "metrics="); i >= 0 {
			return strings.Fields(line[i+len("metrics="):])[0]
		}
	}
	return ""
}

// leaderCounters scrapes the leader's proposal counters (entries, commands).
func leaderCounters(c *localCluster) (entries, commands float64) {
	leader := c.leader()
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
