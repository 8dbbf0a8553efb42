package node

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kappa-serverless/kappa/fsm"
)

// metrics are the node's Prometheus metrics, in a registry of its own so
// several nodes can live in one process (tests, the embedded default).
type metrics struct {
	reg         *prometheus.Registry
	entries     prometheus.Counter
	commands    prometheus.Counter
	commitTime  prometheus.Histogram
	invocations *prometheus.CounterVec
	leases      prometheus.Counter
	refused     *prometheus.CounterVec
	deadRemoved prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.entries = prometheus.NewCounter(prometheus.CounterOpts{Name: "kappa_log_entries_proposed_total",
		Help: "Raft log entries this node proposed as leader (each a batch of commands)."})
	m.commands = prometheus.NewCounter(prometheus.CounterOpts{Name: "kappa_commands_proposed_total",
		Help: "Commands this node proposed; divided by entries, the mean batch size."})
	m.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kappa_commit_seconds",
		Help: "Time from proposing a log entry to its result.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)})
	m.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_invocations_total",
		Help: "Lambda invocations this node ran as leader, by outcome."}, []string{"outcome"})
	m.leases = prometheus.NewCounter(prometheus.CounterOpts{Name: "kappa_lease_expiries_total",
		Help: "Tasks relaunched because their lease ran out."})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kappa_api_refused_total",
		Help: "API calls this node refused to authenticate or authorize, by method and gRPC code."}, []string{"method", "code"})
	m.deadRemoved = prometheus.NewCounter(prometheus.CounterOpts{Name: "kappa_dead_servers_removed_total",
		Help: "Voters this node removed as leader because it could not reach them for --dead-server-after."})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	read := func(f func(m *fsm.Machine) float64) func() float64 {
		return func() (v float64) {
			n.replica.read(func(m *fsm.Machine) { v = f(m) })
			return v
		}
	}
	m.reg.MustRegister(m.entries, m.commands, m.commitTime, m.invocations, m.leases, m.refused, m.deadRemoved,
		gauge("kappa_is_leader", "1 if this node is the Raft leader.", func() float64 {
			if n.isLeader() {
				return 1
			}
			return 0
		}),
		gauge("kappa_applied_index", "Raft index applied to this node's FSM.", read(func(m *fsm.Machine) float64 { return float64(m.AppliedIndex()) })),
		gauge("kappa_jobs", "Jobs in the state.", read(func(m *fsm.Machine) float64 { j, _ := m.Size(); return float64(j) })),
		gauge("kappa_tasks", "Tasks in the state.", read(func(m *fsm.Machine) float64 { _, t := m.Size(); return float64(t) })),
		gauge("kappa_gc_deleted_keys", "Checkpoint-store keys garbage collection deleted.", func() float64 { return float64(n.GC().Deleted) }),
		gauge("kappa_gc_rounds", "Garbage collection rounds this node ran as leader.", func() float64 { return float64(n.GC().Rounds) }),
		gauge("kappa_jobs_expired", "Finished jobs this node forgot as leader once their retention passed.", func() float64 { return float64(n.GC().JobsExpired) }),
		collectors.NewGoCollector(),
	)
	return m
}

// MetricsHandler serves the node's metrics in Prometheus' text format.
func (n *Node) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{})
}
