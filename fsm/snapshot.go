package fsm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

var deterministic = proto.MarshalOptions{Deterministic: true}

// State returns every table in a canonical order (jobs and tasks by id,
// sessions by client id), so equal machines give byte-equal snapshots.
// The result shares no memory with the machine.
func (m *Machine) State() *pb.State {
	s := &pb.State{AppliedIndex: m.appliedIndex, NextJobId: m.nextJobID, ClusterId: m.clusterID,
		Version: SnapshotVersion, ClusterVersion: m.clusterVersion, ClockMs: m.clock, RunnableSeq: m.runnableSeq, VirtualPass: m.virtualPass,
		Store: m.store, StorePerNode: m.storePerNode, EpochBase: m.epochBase}
	m.keys.toState(s)
	jobIDs := make([]uint64, 0, len(m.jobs))
	for id := range m.jobs {
		jobIDs = append(jobIDs, id)
	}
	sort.Slice(jobIDs, func(a, b int) bool { return jobIDs[a] < jobIDs[b] })
	for _, id := range jobIDs {
		s.Jobs = append(s.Jobs, proto.Clone(m.jobs[id]).(*pb.Job))
	}
	keys := make([]TaskKey, 0, len(m.tasks))
	for k := range m.tasks {
		keys = append(keys, k)
	}
	sortKeys(keys)
	for _, k := range keys {
		s.Tasks = append(s.Tasks, proto.Clone(m.tasks[k]).(*pb.Task))
	}
	clients := make([]string, 0, len(m.sessions))
	for c := range m.sessions {
		clients = append(clients, c)
	}
	sort.Strings(clients)
	for _, c := range clients {
		s.Sessions = append(s.Sessions, proto.Clone(m.sessions[c]).(*pb.Session))
	}
	s.Nodes = m.Nodes()
	for _, k := range m.queueKeys(0) {
		s.Queues = append(s.Queues, proto.Clone(m.queues[k]).(*pb.Queue))
	}
	for _, id := range jobIDs {
		if h := m.histories[id]; h != nil {
			s.Histories = append(s.Histories, proto.Clone(h).(*pb.JobHistory))
		}
	}
	s.LeaderId, s.LeaderEra = m.leaderID, m.leaderEra
	return s
}

// MarshalState serializes the state deterministically (the snapshot bytes).
func (m *Machine) MarshalState() ([]byte, error) {
	return deterministic.Marshal(m.State())
}

// Restore replaces the machine's state with a snapshot's.
func (m *Machine) Restore(data []byte) error {
	var s pb.State
	if err := proto.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("fsm: restore: the snapshot does not decode: %w", err)
	}
	if v := s.GetVersion(); v > SnapshotVersion {
		return &VersionError{What: fmt.Sprintf("the snapshot at index %d", s.GetAppliedIndex()), Kind: "snapshot", Need: v, Know: SnapshotVersion}
	}
	if v := s.GetClusterVersion(); v > m.maxVersion() {
		return &VersionError{What: fmt.Sprintf("the cluster in the snapshot at index %d", s.GetAppliedIndex()), Kind: "command", Need: v, Know: m.maxVersion()}
	}
	fresh := New()
	fresh.unsafe = m.unsafe
	fresh.knownVersion = m.knownVersion
	fresh.clusterVersion = s.GetClusterVersion()
	fresh.appliedIndex = s.GetAppliedIndex()
	fresh.nextJobID = s.GetNextJobId()
	fresh.clusterID = s.GetClusterId()
	fresh.keys.fromState(&s)
	fresh.clock = s.GetClockMs()
	fresh.runnableSeq = s.GetRunnableSeq()
	fresh.virtualPass = s.GetVirtualPass()
	fresh.store, fresh.storePerNode = s.GetStore(), s.GetStorePerNode()
	fresh.epochBase = s.GetEpochBase()
	for _, q := range s.GetQueues() {
		fresh.queues[QueueKey{q.GetJobId(), q.GetId()}] = q
	}
	for _, j := range s.GetJobs() {
		if len(j.GetTasksByState()) != len(pb.TaskState_name) {
			return fmt.Errorf("fsm: restore: job j%d has %d task-state counters, want %d", j.GetId(), len(j.GetTasksByState()), len(pb.TaskState_name))
		}
		fresh.jobs[j.GetId()] = j
		if j.GetState() == pb.JobState_JOB_RUNNING {
			fresh.countLive(j, 1)
		}
	}
	for _, t := range s.GetTasks() {
		k := TaskKey{t.GetJobId(), t.GetId()}
		j := fresh.jobs[t.GetJobId()]
		if j == nil {
			return fmt.Errorf("fsm: restore: task %s belongs to no job", k)
		}
		fresh.tasks[k] = t
	}
	fresh.rebuildRunnable()
	for _, sess := range s.GetSessions() {
		fresh.sessions[sess.GetClientId()] = sess
	}
	fresh.rebuildSessionAge()
	for _, n := range s.GetNodes() {
		fresh.nodes[n.GetId()] = n
	}
	for _, h := range s.GetHistories() {
		if fresh.jobs[h.GetJobId()] == nil {
			return fmt.Errorf("fsm: restore: the history of j%d belongs to no job", h.GetJobId())
		}
		fresh.histories[h.GetJobId()] = h
	}
	fresh.leaderID, fresh.leaderEra = s.GetLeaderId(), s.GetLeaderEra()
	*m = *fresh
	return nil
}

// StateHash is the hex SHA-256 of the canonical state; replicas that
// applied the same log agree on it, whatever snapshot layout their builds
// write (the layout version is left out).
func (m *Machine) StateHash() string {
	st := m.State()
	st.Version = 0
	data, err := deterministic.Marshal(st)
	if err != nil {
		// Marshaling our own well-formed messages cannot fail; if it
		// does, no two replicas may ever look equal.
		return "unhashable: " + err.Error()
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
