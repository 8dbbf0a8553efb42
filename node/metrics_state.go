package node

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
)

// stateCollector reads Raft's and the FSM's state at each scrape, so every
// gauge of one scrape comes from one moment.
type stateCollector struct{ n *Node }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	buildInfoDesc = desc("kappa_build_info", "Always 1; the labels name this node's build.", "version", "commit", "command_version")
	isLeaderDesc  = desc("kappa_is_leader", "1 if this node is the Raft leader.")
	raftStateDesc = desc("kappa_raft_state", "1 for this node's Raft state, 0 for the others.", "state")
	termDesc      = desc("kappa_raft_term", "This node's current Raft term.")
	commitDesc    = desc("kappa_raft_commit_index", "Highest Raft index this node knows to be committed.")
	raftApplied   = desc("kappa_raft_applied_index", "Highest Raft index this node has applied.")
	lastLogDesc   = desc("kappa_raft_last_log_index", "Index of the last entry in this node's Raft log.")
	snapIdxDesc   = desc("kappa_raft_last_snapshot_index", "Raft index of this node's latest snapshot.")
	votersDesc    = desc("kappa_raft_voters", "Voters in the Raft configuration this node has.")
	contactDesc   = desc("kappa_raft_last_contact_seconds", "Seconds since this follower last heard from the leader (absent on the leader and before any contact).")
	peerContact   = desc("kappa_raft_peer_last_contact_seconds", "On the leader: seconds since each peer last answered an AppendEntries or heartbeat.", "peer")
	peerLag       = desc("kappa_raft_peer_replication_lag_entries", "On the leader: entries the leader's log has beyond each peer's, as of its last answer.", "peer")
	fsmApplied    = desc("kappa_applied_index", "Raft index applied to this node's FSM (its last command).")
	jobsDesc      = desc("kappa_jobs", "Jobs in this node's FSM, by state.", "state")
	tasksDesc     = desc("kappa_tasks", "Tasks in this node's FSM, by state.", "state")
	runnableDesc  = desc("kappa_runnable_tasks", "Tasks of running jobs waiting for the leader to launch them.")
	queueItems    = desc("kappa_queue_items", "Items waiting in job queues.")
	queueBlocked  = desc("kappa_queue_blocked_tasks", "Tasks blocked on a job queue: side=put on a full one, side=get on an empty one.", "side")
)

var raftStates = []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{buildInfoDesc, isLeaderDesc, raftStateDesc, termDesc, commitDesc, raftApplied, lastLogDesc,
		snapIdxDesc, votersDesc, contactDesc, peerContact, peerLag, fsmApplied, jobsDesc, tasksDesc, runnableDesc, queueItems, queueBlocked} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	bi := BuildInfo(n.cfg.MaxCommandVersion)
	gauge(buildInfoDesc, 1, bi.GetVersion(), bi.GetCommit(), strconv.Itoa(int(bi.GetCommandVersion())))

	state := n.raft.State()
	gauge(isLeaderDesc, boolValue(state == raft.Leader))
	for _, s := range raftStates {
		gauge(raftStateDesc, boolValue(state == s), strings.ToLower(s.String()))
	}
	stats := n.raft.Stats()
	stat := func(k string) float64 { v, _ := strconv.ParseUint(stats[k], 10, 64); return float64(v) }
	gauge(termDesc, stat("term"))
	gauge(commitDesc, float64(n.raft.CommitIndex()))
	gauge(raftApplied, float64(n.raft.AppliedIndex()))
	gauge(lastLogDesc, float64(n.raft.LastIndex()))
	gauge(snapIdxDesc, stat("last_snapshot_index"))
	var servers []raft.Server
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		servers = f.Configuration().Servers
	}
	voters := 0
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	gauge(votersDesc, float64(voters))
	if ms := n.lastContactMs(); ms > 0 {
		gauge(contactDesc, float64(ms)/1000)
	}
	if state == raft.Leader {
		c.collectPeers(servers, gauge)
	}

	var counts fsm.Counts
	var applied uint64
	n.replica.read(func(m *fsm.Machine) { counts, applied = m.Counts(), m.AppliedIndex() })
	gauge(fsmApplied, float64(applied))
	for v := range pb.JobState_name {
		if v != 0 {
			gauge(jobsDesc, float64(counts.Jobs[pb.JobState(v)]), fsm.JobStateName(pb.JobState(v)))
		}
	}
	for v := range pb.TaskState_name {
		if v != 0 {
			gauge(tasksDesc, float64(counts.Tasks[pb.TaskState(v)]), fsm.TaskStateName(pb.TaskState(v)))
		}
	}
	gauge(runnableDesc, float64(counts.Runnable))
	gauge(queueItems, float64(counts.QueueItems))
	gauge(queueBlocked, float64(counts.QueuePutters), "put")
	gauge(queueBlocked, float64(counts.QueueGetters), "get")
}

// collectPeers reports each other voter's last answer as the transport
// saw it (only the gRPC transport keeps them).
func (c *stateCollector) collectPeers(servers []raft.Server, gauge func(*prometheus.Desc, float64, ...string)) {
	n := c.n
	rt, ok := n.trans.(interface {
		Replication() map[raft.ServerAddress]raftgrpc.PeerReplication
	})
	if !ok {
		return
	}
	seen := rt.Replication()
	last := n.raft.LastIndex()
	servers = append([]raft.Server(nil), servers...)
	sort.Slice(servers, func(a, b int) bool { return servers[a].ID < servers[b].ID })
	for _, s := range servers {
		if string(s.ID) == n.cfg.NodeID {
			continue
		}
		p, ok := seen[s.Address]
		if !ok {
			continue // never answered this leader: its lag is unknown
		}
		gauge(peerContact, time.Since(p.LastContact).Seconds(), string(s.ID))
		lag := 0.0
		if last > p.LastLog {
			lag = float64(last - p.LastLog)
		}
		gauge(peerLag, lag, string(s.ID))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// outcomeNames are the values of kappa_invocations_total's outcome label.
func outcomeNames() []string {
	var out []string
	for v := range pb.Outcome_name {
		if v != 0 {
			out = append(out, outcomeName(pb.Outcome(v)))
		}
	}
	sort.Strings(out)
	return out
}

func outcomeName(o pb.Outcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "OUTCOME_"))
}
