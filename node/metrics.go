package node

import (
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the node's Prometheus metrics, in a registry of its own so
// several nodes can live in one process (tests, the embedded default).
// docs/metrics.md lists every one; a test keeps the two in step. The
// counters and histograms here change as things happen; the gauges of
// Raft and the FSM are read at each scrape (stateCollector).
type metrics struct {
	reg        *prometheus.Registry
	entries    prometheus.Counter
	commands   prometheus.Counter
	commitTime prometheus.Histogram
	entryBytes prometheus.Histogram

	invocations        *prometheus.CounterVec
	coldStarts         prometheus.Counter
	invocationDuration prometheus.Histogram
	invocationsRunning prometheus.Gauge
	leases             prometheus.Counter

	leaderChanges prometheus.Counter
	elections     prometheus.Counter
	snapshotTime  prometheus.Histogram
	snapshotBytes prometheus.Gauge
	restores      prometheus.Counter

	storeTime   *prometheus.HistogramVec
	storeErrors *prometheus.CounterVec
	storeBytes  *prometheus.CounterVec

	refused     *prometheus.CounterVec
	deadRemoved prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	seconds := func(name, help string, from float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.ExponentialBuckets(from, 2, 14)})
	}
	m.entries = counter("kappa_log_entries_proposed_total", "Raft log entries this node proposed as leader (each a batch of commands).")
	m.commands = counter("kappa_commands_proposed_total", "Commands this node proposed; divided by entries, the mean batch size.")
	m.commitTime = seconds("kappa_commit_seconds", "Time from proposing a log entry to its result.", 0.0005)
	m.entryBytes = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kappa_log_entry_bytes",
		Help: "Size of the log entries this node proposed.", Buckets: prometheus.ExponentialBuckets(64, 4, 10)})
	m.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_invocations_total",
		Help: "Lambda invocations this node ran as leader, by outcome."}, []string{"outcome"})
	m.coldStarts = counter("kappa_invocation_cold_starts_total", "Invocations the platform served with a cold start.")
	m.invocationDuration = seconds("kappa_invocation_duration_seconds", "How long invocations ran on the platform, until their outcome.", 0.01)
	m.invocationsRunning = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kappa_invocations_running",
		Help: "Invocations this node is waiting on now."})
	m.leases = counter("kappa_lease_expiries_total", "Tasks relaunched because their lease ran out.")
	m.leaderChanges = counter("kappa_raft_leader_changes_total", "Times this node saw the leader change (including to none).")
	m.elections = counter("kappa_raft_elections_total", "Elections this node started (became a candidate).")
	m.snapshotTime = seconds("kappa_raft_snapshot_seconds", "Time to take and write a Raft snapshot of the FSM.", 0.001)
	m.snapshotBytes = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kappa_raft_snapshot_bytes",
		Help: "Size of the last Raft snapshot this node took."})
	m.restores = counter("kappa_raft_snapshot_restores_total", "Raft snapshots this node restored its FSM from.")
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kappa_store_operation_seconds",
		Help: "Latency of this node's checkpoint-store operations, by operation.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"op"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_store_errors_total",
		Help: "Checkpoint-store operations of this node that failed, by operation."}, []string{"op"})
	m.storeBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_store_bytes_total",
		Help: "Bytes this node wrote to (op=put) and read from (op=get) the checkpoint store."}, []string{"op"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_api_refused_total",
		Help: "API calls this node refused to authenticate or authorize, by method and gRPC code."}, []string{"method", "code"})
	m.deadRemoved = counter("kappa_dead_servers_removed_total", "Voters this node removed as leader because it could not reach them for --dead-server-after.")
	m.reg.MustRegister(m.refused, m.entries, m.commands, m.commitTime, m.entryBytes, m.invocations, m.coldStarts,
		m.invocationDuration, m.invocationsRunning, m.leases, m.leaderChanges, m.elections, m.snapshotTime,
		m.snapshotBytes, m.restores, m.storeTime, m.storeErrors, m.storeBytes, m.deadRemoved,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kappa_gc_deleted_keys_total",
			Help: "Checkpoint-store keys garbage collection deleted."}, func() float64 { return float64(n.GC().Deleted) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kappa_gc_expired_jobs_total",
			Help: "Finished jobs garbage collection removed after their retention."}, func() float64 { return float64(n.GC().JobsExpired) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kappa_gc_rounds_total",
			Help: "Garbage collection rounds this node ran as leader."}, func() float64 { return float64(n.GC().Rounds) }),
		&stateCollector{n: n},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kappa_disk_full",
			Help: "1 while writes to this node's data dir fail for lack of space (it takes no part in elections meanwhile)."}, func() float64 {
			if n.disk.isFull() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kappa_disk_full_writes_total",
			Help: "Writes of the Raft state that failed for lack of space."}, func() float64 { return float64(n.disk.failedWrites()) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The registry may hold a counter at 0 but a vector shows no series
	// until it has one: make each outcome and operation visible from the
	// first scrape, so alerts and rates need no "absent" special case.
	for _, o := range outcomeNames() {
		m.invocations.WithLabelValues(o)
	}
	for _, op := range storeOps {
		m.storeTime.WithLabelValues(op)
		m.storeErrors.WithLabelValues(op)
	}
	for _, op := range []string{"put", "get"} {
		m.storeBytes.WithLabelValues(op)
	}
	return m
}

// observeRaft counts leader changes and elections from Raft's observations.
func (m *metrics) observeRaft(r *raft.Raft, done <-chan struct{}) {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch d := o.Data.(type) {
		case raft.LeaderObservation:
			return true
		case raft.RaftState:
			return d == raft.Candidate
		}
		return false
	})
	r.RegisterObserver(obs)
	go func() {
		defer r.DeregisterObserver(obs)
		for {
			select {
			case o := <-ch:
				if _, ok := o.Data.(raft.LeaderObservation); ok {
					m.leaderChanges.Inc()
				} else {
					m.elections.Inc()
				}
			case <-done:
				return
			}
		}
	}()
}

// snapshotTaken notes one snapshot of the FSM.
func (m *metrics) snapshotTaken(took time.Duration, size int) {
	m.snapshotTime.Observe(took.Seconds())
	m.snapshotBytes.Set(float64(size))
}

// MetricsHandler serves the node's metrics in Prometheus' text format.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{})
}
