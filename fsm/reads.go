package fsm

import (
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// Reads never change the machine; everything returned is a copy.

// Job returns a copy of a job, or nil.
func (m *Machine) Job(id uint64) *pb.Job {
	j := m.jobs[id]
	if j == nil {
		return nil
	}
	return proto.Clone(j).(*pb.Job)
}

// Task returns a copy of a task, or nil.
func (m *Machine) Task(k TaskKey) *pb.Task {
	t := m.tasks[k]
	if t == nil {
		return nil
	}
	return proto.Clone(t).(*pb.Task)
}

// JobTasks returns copies of a job's tasks in id order.
func (m *Machine) JobTasks(id uint64) []*pb.Task {
	j := m.jobs[id]
	if j == nil {
		return nil
	}
	var out []*pb.Task
	for tid := uint64(1); tid < j.GetNextTaskId(); tid++ {
		if t := m.tasks[TaskKey{id, tid}]; t != nil {
			out = append(out, proto.Clone(t).(*pb.Task))
		}
	}
	return out
}

// Size reports how many jobs and tasks the machine holds.
func (m *Machine) Size() (jobs, tasks int) { return len(m.jobs), len(m.tasks) }

// CheckClaim says whether ref is the task's current claim (nil) or why not.
func (m *Machine) CheckClaim(ref *pb.TaskRef) *pb.Result {
	_, _, bad := m.checkRef(ref)
	return bad
}

// Poll reads whether the response of a blocked call has arrived. It is a
// read: polling creates no log entry.
func (m *Machine) Poll(ref *pb.TaskRef, seq uint64) (ready *pb.Response, bad *pb.Result) {
	_, t, bad := m.checkRef(ref)
	if bad != nil {
		return nil, bad
	}
	if seq != t.GetSeq() {
		return nil, fail(pb.ErrorCode_BAD_SEQ, "poll of j%d/t%d names call %d; its last call is %d", t.GetJobId(), t.GetId(), seq, t.GetSeq())
	}
	switch t.GetState() {
	case pb.TaskState_TASK_BLOCKED:
		return nil, nil
	case pb.TaskState_TASK_RUNNING:
		return proto.Clone(t.GetLastResponse()).(*pb.Response), nil
	}
	return nil, fail(pb.ErrorCode_BAD_STATE, "poll of j%d/t%d refused: the task is %s", t.GetJobId(), t.GetId(), taskStateName(t.GetState()))
}

// Claimed lists the tasks whose current epoch holds a claim or a launch
// (the ones a leader keeps leases for), in a deterministic order.
func (m *Machine) Claimed() []TaskKey {
	var keys []TaskKey
	for k, t := range m.tasks {
		switch t.GetState() {
		case pb.TaskState_TASK_LAUNCHED, pb.TaskState_TASK_RUNNING, pb.TaskState_TASK_BLOCKED:
			keys = append(keys, k)
		}
	}
	sortKeys(keys)
	return keys
}

// JobStateName is the lower-case name of a job state.
func JobStateName(s pb.JobState) string { return jobStateName(s) }

// TaskStateName is the lower-case name of a task state.
func TaskStateName(s pb.TaskState) string { return taskStateName(s) }

// Jobs returns copies of all jobs, by id.
func (m *Machine) Jobs() []*pb.Job {
	ids := make([]uint64, 0, len(m.jobs))
	for id := range m.jobs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	out := make([]*pb.Job, len(ids))
	for i, id := range ids {
		out[i] = proto.Clone(m.jobs[id]).(*pb.Job)
	}
	return out
}

// JobOwner names the principal that submitted a job ("" before version 2
// or on an open cluster); ok is false for an unknown job. The authorization
// interceptor asks it on every call a submitter makes, so it copies nothing.
func (m *Machine) JobOwner(id uint64) (owner string, ok bool) {
	j := m.jobs[id]
	if j == nil {
		return "", false
	}
	return j.GetOwner(), true
}

// LaunchCredential is the task's current epoch and the sha256 of the task
// secret its launch committed (nil for a launch from before version 2);
// ok is false for an unknown task.
func (m *Machine) LaunchCredential(k TaskKey) (epoch uint64, secretHash []byte, ok bool) {
	t := m.tasks[k]
	if t == nil {
		return 0, nil, false
	}
	return t.GetEpoch(), t.GetSecretHash(), true
}

// Counts are how many jobs and tasks are in each state and what waits in
// queues: the node's metrics read them at each scrape.
type Counts struct {
	Jobs  map[pb.JobState]int
	Tasks map[pb.TaskState]int
	// Runnable tasks of running jobs wait for the leader to launch them.
	Runnable int
	// QueueItems are items in job queues; QueuePutters and QueueGetters
	// tasks blocked on a full or an empty queue.
	QueueItems, QueuePutters, QueueGetters int
}

// Counts counts the state (one pass over jobs, tasks and queues).
func (m *Machine) Counts() Counts {
	c := Counts{Jobs: map[pb.JobState]int{}, Tasks: map[pb.TaskState]int{}, Runnable: len(m.runnable)}
	for _, j := range m.jobs {
		c.Jobs[j.GetState()]++
	}
	for _, t := range m.tasks {
		c.Tasks[t.GetState()]++
	}
	for _, q := range m.queues {
		c.QueueItems += len(q.GetItems())
		c.QueuePutters += len(q.GetPutters())
		c.QueueGetters += len(q.GetGetters())
	}
	return c
}

// PeekGrant is the grant a claim of the launched (task, epoch, invocation)
// would get, read without claiming (a deferred claim): the task's claim
// then travels with its first call. Refused as a Claim would be when that
// launch is no longer the task's current, unclaimed one.
func (m *Machine) PeekGrant(job, task, epoch uint64, invocation string) (*pb.ClaimGrant, *pb.Result) {
	j, t, bad := m.lookup(job, task)
	if bad != nil {
		return nil, bad
	}
	if epoch != t.GetEpoch() || invocation != t.GetInvocationId() || t.GetState() != pb.TaskState_TASK_LAUNCHED {
		return nil, claimSuperseded(job, task, epoch, t)
	}
	g := m.grant(j, t)
	g.Attempt++ // what the claim will make it
	return g, nil
}

// InvocationEndMatters says whether committing the end of this invocation
// would do anything: it would not when the job is over or the task has
// moved past that launch (it exited, failed, yielded or parked, or was
// relaunched). invocationEnded ignores such an end (it would only note the
// outcome on the task), so the leader need not commit it.
func (m *Machine) InvocationEndMatters(job, task, epoch uint64, invocation string) bool {
	_, t, bad := m.lookup(job, task)
	if bad != nil || epoch != t.GetEpoch() || invocation != t.GetInvocationId() {
		return false
	}
	switch t.GetState() {
	case pb.TaskState_TASK_LAUNCHED, pb.TaskState_TASK_RUNNING, pb.TaskState_TASK_BLOCKED:
		return true
	}
	return false
}
