package jepsen

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/checker"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Config shapes one run.
type Config struct {
	Nodes    int
	Duration time.Duration // how long the nemesis attacks
	Gap      time.Duration // mean pause between faults
	Seed     int64
	Kinds    []string // faults to draw from
	Ordered  bool     // apply Kinds in order instead of at random
	Net      string   // "netns", "proxy" or "" (netns when available)
	Unsafe   []string // --unsafe-test-fault switches
	Clients  int      // API clients recording histories
	// ResendCalls: the probability that a worker re-sends a committed task
	// call (a lost response; KAPPA_TEST_RESEND_CALLS), which dedup must
	// make harmless.
	ResendCalls float64
	// LambdaTimeout is the lambdas' time limit (default 2 s: many
	// relaunches).
	LambdaTimeout time.Duration
	// GCInterval, when set, is the checkpoint collector's period.
	GCInterval time.Duration
	// Idle runs no workload: for the test that such a run is not clean.
	Idle bool
}

// Run starts the cluster, runs the workloads under the nemesis, heals,
// waits for every job, checks, and returns the report. It fails t only
// when the run could not be carried out; the report says what the
// checkers found.
func Run(t *testing.T, cfg Config) *Report {
	if cfg.Clients == 0 {
		cfg.Clients = 2
	}
	if cfg.LambdaTimeout == 0 {
		cfg.LambdaTimeout = 2 * time.Second
	}
	if cfg.Net == "" {
		cfg.Net = harness.NetworkKind()
	}
	logf := func(format string, args ...any) { t.Logf(format, args...) }
	logf("jepsen: seed %d (replay with KAPPA_JEPSEN_SEED=%d), %d nodes, network %s, faults %s for %s",
		cfg.Seed, cfg.Seed, cfg.Nodes, cfg.Net, strings.Join(cfg.Kinds, ","), cfg.Duration)

	var net harness.Network
	if cfg.Net == "netns" {
		net = harness.NewNetNS(t, cfg.Nodes)
	} else {
		net = harness.NewProxy(t, cfg.Nodes)
	}
	opts := harness.Options{Nodes: cfg.Nodes, LambdaTimeout: cfg.LambdaTimeout, Concurrency: 16, Net: net}
	// Checkpoints go to a real Redis, which restart-redis attacks; only
	// where none is installed to a directory, and the report says so.
	var redis *harness.Redis
	store := "directory (redis-server is not installed)"
	if _, err := exec.LookPath("redis-server"); err == nil {
		redis = harness.StartRedisOn(t, net.HostIP())
		s, err := checkpoint.Open(redis.URL())
		if err != nil {
			t.Fatalf("jepsen: the Go checkpoint store does not open the run's Redis %s: %v", redis.URL(), err)
		}
		s.Close()
		opts.Store, store = redis.URL(), "redis"
	}
	if len(cfg.Unsafe) > 0 {
		t.Setenv(harness.UnsafeEnv, "1")
		opts.ExtraServerArgs = append(opts.ExtraServerArgs, "--unsafe-test-fault", strings.Join(cfg.Unsafe, ","))
	}
	if cfg.GCInterval > 0 {
		opts.ExtraServerArgs = append(opts.ExtraServerArgs, "--gc-interval", cfg.GCInterval.String())
	}
	if cfg.ResendCalls > 0 {
		// The lambda platform and so every worker inherit it.
		t.Setenv("KAPPA_TEST_RESEND_CALLS", fmt.Sprint(cfg.ResendCalls))
	}
	c := harness.Start(t, opts)
	svc := harness.NewReceiverOn(t, net.HostIP(), 200*time.Millisecond)
	pipelineBundle, shortBundle := nodetest.BundleOf(t, pipeline), nodetest.BundleOf(t, short)

	// The probe job runs to its end before any fault: the cluster works,
	// and no fault can hit the probe's lambda instead of the workload's.
	probe := c.Submit(short, `{"sleep": 0, "value": 0}`, "probe", 0)
	if st := c.WaitJob(probe, 2*time.Minute); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("jepsen: the probe job j%d before any fault: %s %s", probe, st.GetState(), st.GetError())
	}
	nem := nemesis.New(c, cfg.Seed)
	nem.Redis = redis
	nem.Log = logf
	nem.Probe = probeAny(c, probe)

	rec := newRecorder()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if cfg.Idle {
		cfg.Clients = 0
	} else {
		wg.Add(1)
		go func() { defer wg.Done(); runPipelines(c, pipelineBundle, rec, svc.URL(), stop) }()
	}
	wg.Add(cfg.Clients)
	for i := 0; i < cfg.Clients; i++ {
		go func(i int) {
			defer wg.Done()
			runClient(c.Client().Addrs(), c.ClientOptions(), shortBundle, i, cfg.Seed+int64(i), rec, stop)
		}(i)
	}
	started := time.Now()
	nem.Run(context.Background(), cfg.Kinds, cfg.Ordered, cfg.Duration, cfg.Gap)
	logf("%8s  healed everything; waiting for every job", time.Since(started).Round(time.Millisecond))
	close(stop)
	wg.Wait()
	logf("%8s  every workload finished", time.Since(started).Round(time.Millisecond))
	r := &Report{Seed: cfg.Seed, Nodes: cfg.Nodes, Network: net.Mode(), Store: store, Unsafe: cfg.Unsafe,
		Schedule: cfg.Kinds, Ordered: cfg.Ordered, Ops: rec.ops, Faults: map[string]int{}, Timeline: nem.Events()}
	if redis == nil {
		r.Notes = append(r.Notes, "redis-server is not installed: the checkpoints went to a directory and restart-redis cannot run")
	}
	check(t, cfg, c, net, svc, rec, r)
	return r
}

func check(t *testing.T, cfg Config, c *harness.Cluster, net harness.Network, svc *harness.Receiver, rec *recorder, r *Report) {
	if ns, ok := net.(*harness.NetNS); ok && !ns.HasNetem() {
		r.Notes = append(r.Notes, harness.ErrNoNetem.Error()+": delay and loss are skipped in namespaces (the proxy network has them)")
	}
	for _, e := range r.Timeline {
		if e.Fired() {
			r.Faults[e.Kind]++
		}
		if e.Skipped == "" {
			r.recoveries = append(r.recoveries, e.Recovery)
		}
	}
	// Queues: delivery and linearizability, per pipeline job.
	r.Linearizable = true
	for i, consumed := range rec.consumed {
		d := checker.CheckDelivery(consumed, 2, 10)
		r.Lost += d.Lost
		r.Duplicated += d.Duplicated
		r.DeliveredTwice += d.Duplicated
		r.Reordered += d.Reordered
		r.Problems = append(r.Problems, prefix(fmt.Sprintf("queue of pipeline %d: ", i), d.Problems)...)
		if res := checker.CheckQueue(rec.queueOps[i], time.Minute); res != porcupine.Ok {
			r.noteLinearizability(fmt.Sprintf("queue history of pipeline %d", i), res)
		}
	}
	// Exactly-once effects.
	lost, dup, problems := svc.EffectCounts(rec.effects)
	r.Lost += lost
	r.Duplicated += dup
	r.Problems = append(r.Problems, problems...)
	// Client operations.
	if res := checker.CheckJobs(rec.jobOps, 2*time.Minute); res != porcupine.Ok {
		r.noteLinearizability("client operations", res)
	}
	// Every pipeline that did not succeed lost its work.
	r.Lost += rec.ops["pipeline/failed"] + rec.ops["pipeline/unfinished"] + len(rec.failedJobs)
	for job, why := range rec.failedJobs {
		r.Problems = append(r.Problems, fmt.Sprintf("client job j%d failed: %s", job, why))
	}
	// The FSM's own audit: every task applied each call once.
	audits := map[uint64]*wire.AuditJobResponse{}
	for _, job := range rec.jobs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		a, err := c.Client().Audit(ctx, job)
		cancel()
		if err != nil {
			rec.notFound(job, err)
			r.Problems = append(r.Problems, fmt.Sprintf("audit of j%d: %v", job, err))
			continue
		}
		audits[job] = a
		if p := nodetest.CheckAudit(a); len(p) > 0 {
			r.Duplicated += len(p)
			r.Problems = append(r.Problems, prefix(fmt.Sprintf("audit j%d: ", job), p)...)
		}
	}
	// Every job ended.
	for _, job := range rec.jobs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		st, err := c.Client().Job(ctx, job, false)
		cancel()
		if err != nil {
			rec.notFound(job, err)
			r.Problems = append(r.Problems, fmt.Sprintf("j%d after the heal: %v", job, err))
			continue
		}
		rec.sameJob(job, st)
		if st.GetState() == wire.JobState_JOB_RUNNING {
			r.Problems = append(r.Problems, fmt.Sprintf("j%d still running after the heal; tasks: %s", job, taskStates(audits[job])))
		}
	}
	r.Problems = append(r.Problems, rec.problems...)
	// The mechanisms the unsafe switches break, named.
	r.MissingCheckpoints, r.ForgottenJobs = rec.missingKeys(), rec.forgottenJobs()
	if len(r.MissingCheckpoints) > 0 {
		r.Problems = append(r.Problems, "live checkpoints missing from the store: "+strings.Join(r.MissingCheckpoints, ", "))
	}
	if len(r.ForgottenJobs) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("acknowledged jobs the cluster forgot: %v", r.ForgottenJobs))
	}
	limit := 2 * time.Minute
	if len(cfg.Unsafe) > 0 {
		limit = 20 * time.Second // broken on purpose: divergence is expected
	}
	hash, err := c.TryConverged(limit)
	switch {
	case err != nil && len(cfg.Unsafe) == 0:
		// Not expected: say where the replicas part (this stops the cluster).
		r.Problems = append(r.Problems, err.Error()+"; "+c.Divergence())
	case err != nil:
		r.Problems = append(r.Problems, err.Error())
	}
	r.StateHash = hash
	r.Problems = append(r.Problems, r.unproven()...)
	r.finish()
}

// probeAny succeeds when any running node serves a linearizable read of
// job within a second. Asking each node itself keeps a paused node, which
// a client would wait out for its per-attempt timeout, from being counted
// as the cluster's downtime.
func probeAny(c *harness.Cluster, job uint64) func(ctx context.Context) error {
	clients := map[*harness.Node]*kappaclient.Client{}
	for i, n := range c.Nodes {
		clients[n] = c.PinnedClient(i)
	}
	return func(ctx context.Context) error {
		errs := make(chan error, len(c.Nodes))
		for _, n := range c.Nodes {
			go func(cl *kappaclient.Client) {
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				_, err := cl.Job(pctx, job, false)
				errs <- err
			}(clients[n])
		}
		var last error
		for range c.Nodes {
			if err := <-errs; err == nil {
				return nil
			} else {
				last = err
			}
		}
		return last
	}
}

func prefix(p string, lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, p+l)
	}
	return out
}

// taskStates lists a job's tasks as "t1 parked e3 s12, t2 failed e8 s4"
// for a report on a job that did not end.
func taskStates(a *wire.AuditJobResponse) string {
	var parts []string
	for _, t := range a.GetTasks() {
		parts = append(parts, fmt.Sprintf("t%d %s e%d s%d", t.GetTaskId(), t.GetState(), t.GetEpoch(), t.GetSeq()))
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, ", ")
}
