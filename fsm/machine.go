// Package fsm is Kappa's replicated state machine: jobs, tasks, futures and
// their waiters, checkpoint pointers, the RPC de-duplication records and
// invocation epochs. It is pure: no I/O, no clock, no randomness. Every
// replica that applies the same entries in the same order reaches the same
// state, which StateHash makes checkable.
package fsm

import (
	"container/list"
	"fmt"
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// DefaultMaxLaunches is how often a task may be launched without its
// checkpoint pointer moving before it fails instead of looping forever.
const DefaultMaxLaunches = 8

// auditKeep bounds the per-task audit records (applied_calls counts all).
const auditKeep = 1024

// TaskKey names a task.
type TaskKey struct{ Job, Task uint64 }

func (k TaskKey) String() string { return fmt.Sprintf("j%d/t%d", k.Job, k.Task) }

// Machine is the state. It is not safe for concurrent use: the node wraps
// it with a lock.
type Machine struct {
	appliedIndex uint64
	nextJobID    uint64
	jobs         map[uint64]*pb.Job
	tasks        map[TaskKey]*pb.Task
	sessions     map[string]*pb.Session
	nodes        map[string]*pb.Node
	queues       map[QueueKey]*pb.Queue
	clusterID    string
	keys         keyConfig
	// clusterVersion is replicated (SetClusterVersion); knownVersion is this
	// build's own limit (0: CommandVersion), never part of the state.
	clusterVersion uint32
	knownVersion   uint32
	// clock is the cluster clock (see Command.clock_ms); runnableSeq and
	// virtualPass order launches (fair.go).
	clock       int64
	runnableSeq uint64
	virtualPass uint64
	// store is the cluster's checkpoint store (SetStore); storePerNode: it
	// is one node's own directory.
	store        string
	storePerNode bool
	// epochBase: no task's epoch is below it (RelaunchAll); 0 until a
	// restore or recovery.
	epochBase uint64

	// Derived, rebuilt on Restore, never serialized: runnable indexes the
	// RUNNABLE tasks of running jobs into runQueues, each job's runnable
	// tasks in launch order; liveJobs counts running jobs (liveOwned by
	// owner); sessionAge lists client ids least recently used first
	// (sessions.go).
	runnable   map[TaskKey]*list.Element
	runQueues  map[uint64]*list.List
	liveJobs   int
	liveOwned  map[string]int
	sessionAge *list.List
	sessionAt  map[string]*list.Element

	// Job histories (events.go), the leader the last LeaderChanged named
	// and how many were applied (the leader era).
	histories map[uint64]*pb.JobHistory
	leaderID  string
	leaderEra uint64

	// unsafe breaks a guarantee on purpose (tests only; see unsafe.go).
	unsafe Unsafe
}

// New returns an empty machine.
func New() *Machine {
	return &Machine{
		nextJobID:  1,
		jobs:       map[uint64]*pb.Job{},
		tasks:      map[TaskKey]*pb.Task{},
		sessions:   map[string]*pb.Session{},
		nodes:      map[string]*pb.Node{},
		queues:     map[QueueKey]*pb.Queue{},
		runnable:   map[TaskKey]*list.Element{},
		runQueues:  map[uint64]*list.List{},
		sessionAge: list.New(),
		liveOwned:  map[string]int{},
		sessionAt:  map[string]*list.Element{},
		histories:  map[uint64]*pb.JobHistory{},
	}
}

// AppliedIndex is the log index of the last applied entry.
func (m *Machine) AppliedIndex() uint64 { return m.appliedIndex }

// Apply applies one log entry (a batch of commands) at the given index and
// returns one result per command.
func (m *Machine) Apply(index uint64, e *pb.Entry) []*pb.Result {
	results := make([]*pb.Result, len(e.GetCommands()))
	for i, c := range e.GetCommands() {
		if c.GetClockMs() > m.clock {
			if m.clock == 0 {
				m.clockStarts(c.GetClockMs())
			}
			m.clock = c.GetClockMs()
		}
		results[i] = m.applyCommand(index, c)
	}
	m.expireSessions()
	if index > m.appliedIndex {
		m.appliedIndex = index
	}
	return results
}

// Clock is the cluster clock in milliseconds: the largest clock a
// committed command carried (0 before command version 2).
func (m *Machine) Clock() int64 { return m.clock }

func (m *Machine) applyCommand(index uint64, c *pb.Command) *pb.Result {
	if c.GetClientId() != "" {
		if r := m.sessionResult(c.GetClientId(), c.GetRequestId()); r != nil {
			return r
		}
	}
	var r *pb.Result
	switch op := c.GetOp().(type) {
	case *pb.Command_SubmitJob:
		r = m.submitJob(c.GetNowUnixMs(), c.GetQuotas(), op.SubmitJob)
	case *pb.Command_Launch:
		r = m.launch(c.GetNowUnixMs(), op.Launch)
	case *pb.Command_Claim:
		r = m.claim(c.GetNowUnixMs(), op.Claim)
	case *pb.Command_Call:
		r = m.call(index, c.GetNowUnixMs(), c.GetQuotas(), op.Call)
	case *pb.Command_Park:
		r = m.park(c.GetNowUnixMs(), op.Park)
	case *pb.Command_InvocationEnded:
		r = m.invocationEnded(c.GetNowUnixMs(), op.InvocationEnded)
	case *pb.Command_CancelJob:
		r = m.cancelJob(c.GetNowUnixMs(), op.CancelJob)
	case *pb.Command_SetNode:
		r = m.setNode(op.SetNode)
	case *pb.Command_RemoveNode:
		r = m.removeNode(op.RemoveNode)
	case *pb.Command_InitCluster:
		r = m.initCluster(op.InitCluster)
	case *pb.Command_ForgetJob:
		r = m.forgetJob(op.ForgetJob)
	case *pb.Command_SetClusterVersion:
		r = m.setClusterVersion(op.SetClusterVersion)
	case *pb.Command_LeaderChanged:
		r = m.leaderChanged(c.GetNowUnixMs(), op.LeaderChanged)
	case *pb.Command_RetryJob:
		r = m.retryJob(c.GetNowUnixMs(), c.GetQuotas(), op.RetryJob)
	case *pb.Command_SetDrain:
		r = m.setDrain(op.SetDrain)
	case *pb.Command_SetKeys:
		r = m.setKeys(op.SetKeys)
	case *pb.Command_SetStore:
		r = m.setStore(op.SetStore)
	case *pb.Command_RelaunchAll:
		r = m.relaunchAll(c.GetNowUnixMs(), op.RelaunchAll)
	default:
		r = fail(pb.ErrorCode_INVALID, "unknown command %T", c.GetOp())
	}
	if c.GetClientId() != "" {
		m.rememberSession(c.GetClientId(), c.GetRequestId(), r)
	}
	return r
}

// setState moves a task to a new state, keeping the job's per-state counts
// and the runnable index in step. Every state change goes through here.
func (m *Machine) setState(t *pb.Task, s pb.TaskState) {
	j := m.jobs[t.GetJobId()]
	counts := j.GetTasksByState()
	if t.State != pb.TaskState_TASK_STATE_UNSPECIFIED && counts[t.State] > 0 {
		counts[t.State]--
	}
	counts[s]++
	t.State = s
	if s == pb.TaskState_TASK_RUNNABLE && j.GetState() == pb.JobState_JOB_RUNNING {
		m.addRunnable(j, t)
	} else {
		m.dropRunnable(TaskKey{t.GetJobId(), t.GetId()})
	}
}

func sortKeys(keys []TaskKey) {
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].Job != keys[b].Job {
			return keys[a].Job < keys[b].Job
		}
		return keys[a].Task < keys[b].Task
	})
}

func isTerminal(s pb.TaskState) bool {
	return s == pb.TaskState_TASK_DONE || s == pb.TaskState_TASK_FAILED
}

func fail(code pb.ErrorCode, format string, args ...any) *pb.Result {
	return &pb.Result{Error: &pb.Error{Code: code, Message: fmt.Sprintf(format, args...)}}
}

func responseResult(r *pb.Response) *pb.Result {
	return &pb.Result{Value: &pb.Result_Response{Response: r}}
}

func ack() *pb.Response { return &pb.Response{Result: &pb.Response_Ack{Ack: true}} }
