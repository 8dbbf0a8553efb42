package fsm

import (
	"fmt"
	"slices"
	"strings"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// RootTask is the id of a job's first task, the one that runs
// handler(event, context).
const RootTask = 1

func (m *Machine) submitJob(now int64, q *pb.Quotas, s *pb.SubmitJob) *pb.Result {
	if s.GetProgramHash() == "" {
		return fail(pb.ErrorCode_INVALID, "submit: the job names no program hash")
	}
	if s.GetPriority() > MaxPriority {
		return fail(pb.ErrorCode_INVALID, "submit: priority %d is not between 1 and %d", s.GetPriority(), MaxPriority)
	}
	if bad := m.submitQuota(q, s.GetOwner()); bad != nil {
		return bad
	}
	maxLaunches := s.GetMaxLaunches()
	if maxLaunches == 0 {
		maxLaunches = DefaultMaxLaunches
	}
	id := m.nextJobID
	m.nextJobID++
	j := &pb.Job{
		Id:              id,
		Name:            s.GetName(),
		Owner:           s.GetOwner(),
		ProgramHash:     s.GetProgramHash(),
		EventJson:       s.GetEventJson(),
		State:           pb.JobState_JOB_RUNNING,
		MaxLaunches:     maxLaunches,
		NextTaskId:      RootTask + 1,
		SubmittedUnixMs: now,
		TasksByState:    make([]uint64, len(pb.TaskState_name)),
		Priority:        s.GetPriority(),
	}
	m.jobs[id] = j
	m.countLive(j, 1)
	root := &pb.Task{JobId: id, Id: RootTask, Name: "handler"}
	m.addTask(root, pb.TaskState_TASK_RUNNABLE)
	m.noteSubmitted(j, s, now, root)
	return &pb.Result{Value: &pb.Result_JobId{JobId: id}}
}

func (m *Machine) addTask(t *pb.Task, s pb.TaskState) {
	// After a restore, epochs start above anything the lost cluster used.
	t.Epoch = max(t.GetEpoch(), m.epochBase)
	m.tasks[TaskKey{t.GetJobId(), t.GetId()}] = t
	m.setState(t, s)
}

// finishJob ends a job: every task still alive is failed with the reason,
// so its worker's next call is refused and nothing is launched again.
func (m *Machine) finishJob(j *pb.Job, now int64, state pb.JobState, errMsg string) {
	kind := pb.EventKind_EVENT_JOB_FAILED
	if state == pb.JobState_JOB_SUCCEEDED {
		kind = pb.EventKind_EVENT_JOB_SUCCEEDED
	}
	m.endJob(j, now, state, errMsg, kind)
}

func (m *Machine) endJob(j *pb.Job, now int64, state pb.JobState, errMsg string, kind pb.EventKind) {
	if j.GetState() == pb.JobState_JOB_RUNNING {
		m.countLive(j, -1)
	}
	j.State = state
	j.Error = errMsg
	j.FinishedUnixMs = now
	if m.atLeast(2) {
		j.FinishedClockMs = m.clock
	}
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		t := m.tasks[TaskKey{j.GetId(), id}]
		if t == nil || isTerminal(t.GetState()) {
			continue
		}
		t.Failed = true
		if state == pb.JobState_JOB_SUCCEEDED {
			t.Error = "the job finished before this task did"
		} else {
			t.Error = "the job failed: " + errMsg
		}
		m.setState(t, pb.TaskState_TASK_FAILED)
		m.noteFinished(j, t, now, false)
	}
	m.noteJobEnded(j, now, kind)
}

// cancelJob stops every task of a running job; waiters and workers get
// a clear error naming the reason.
func (m *Machine) cancelJob(now int64, c *pb.CancelJob) *pb.Result {
	j := m.jobs[c.GetJobId()]
	if j == nil {
		return fail(pb.ErrorCode_NOT_FOUND, "job j%d does not exist", c.GetJobId())
	}
	if j.GetState() != pb.JobState_JOB_RUNNING {
		return fail(pb.ErrorCode_JOB_FINISHED, "job j%d already finished (%s)", j.GetId(), jobStateName(j.GetState()))
	}
	reason := c.GetReason()
	if reason == "" {
		reason = "no reason given"
	}
	m.endJob(j, now, pb.JobState_JOB_FAILED, "cancelled: "+reason, pb.EventKind_EVENT_JOB_CANCELLED)
	return &pb.Result{}
}

// checkDeadlock fails a job in which nothing runs or can run while
// something waits, and reports its wait-for graph.
func (m *Machine) checkDeadlock(j *pb.Job, now int64) {
	if j.GetState() != pb.JobState_JOB_RUNNING {
		return
	}
	c := j.GetTasksByState()
	active := c[pb.TaskState_TASK_RUNNABLE] + c[pb.TaskState_TASK_LAUNCHED] +
		c[pb.TaskState_TASK_RUNNING] + c[pb.TaskState_TASK_BLOCKED]
	waiting := c[pb.TaskState_TASK_PENDING] + c[pb.TaskState_TASK_PARKED]
	if active > 0 || waiting == 0 {
		return
	}
	msg := "deadlock: nothing can run; " + m.waitForGraph(j)
	if failed := m.failedTasks(j); failed != "" {
		msg += "; " + failed
	}
	m.finishJob(j, now, pb.JobState_JOB_FAILED, msg)
}

// failedTasks names the job's failed tasks and why, e.g. "t2 failed: task
// j1/t2 was launched 8 times …": usually the reason the others are stuck.
func (m *Machine) failedTasks(j *pb.Job) string {
	var parts []string
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		if t := m.tasks[TaskKey{j.GetId(), id}]; t != nil && t.GetState() == pb.TaskState_TASK_FAILED {
			why, _, _ := strings.Cut(t.GetError(), "\n")
			if len(why) > 300 {
				why = strings.ToValidUTF8(why[:300], "") + "…" // a cut rune would make the string unmarshalable
			}
			parts = append(parts, fmt.Sprintf("t%d failed: %s", id, why))
		}
	}
	return strings.Join(parts, "; ")
}

// waitForGraph describes which task waits for which, e.g.
// "t2 waits for t3; t3 waits for t2".
func (m *Machine) waitForGraph(j *pb.Job) string {
	var edges []string
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		t := m.tasks[TaskKey{j.GetId(), id}]
		if t == nil {
			continue
		}
		var on []uint64
		switch t.GetState() {
		case pb.TaskState_TASK_PARKED:
			if t.GetBlockedQueue() != 0 {
				edges = append(edges, fmt.Sprintf("t%d waits for %s", id, m.queueWait(t)))
				continue
			}
			on = t.GetWaitingOn()
		case pb.TaskState_TASK_PENDING:
			on = t.GetAwaits()
		default:
			continue
		}
		var open []string
		for _, f := range on {
			if ft := m.tasks[TaskKey{j.GetId(), f}]; ft != nil && !isTerminal(ft.GetState()) {
				open = append(open, fmt.Sprintf("t%d", f))
			}
		}
		edges = append(edges, fmt.Sprintf("t%d waits for %s", id, strings.Join(open, ", ")))
	}
	return strings.Join(edges, "; ")
}

// forgetJob drops a finished job, its tasks and its queues from the state
// (after its retention; the leader has collected its keys first).
func (m *Machine) forgetJob(f *pb.ForgetJob) *pb.Result {
	j := m.jobs[f.GetJobId()]
	if j == nil {
		return fail(pb.ErrorCode_NOT_FOUND, "job j%d does not exist", f.GetJobId())
	}
	if j.GetState() == pb.JobState_JOB_RUNNING {
		return fail(pb.ErrorCode_BAD_STATE, "job j%d is still running; cancel it first", j.GetId())
	}
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		m.dropRunnable(TaskKey{j.GetId(), id})
		delete(m.tasks, TaskKey{j.GetId(), id})
	}
	for _, k := range m.queueKeys(j.GetId()) {
		delete(m.queues, k)
	}
	delete(m.jobs, j.GetId())
	delete(m.histories, j.GetId())
	m.dropUnusedLegacyKey()
	return &pb.Result{}
}

// runningJobIDs lists the running jobs in id order (commands that touch
// every one must do it in the same order on every replica).
func (m *Machine) runningJobIDs() []uint64 {
	ids := make([]uint64, 0, len(m.jobs))
	for id, j := range m.jobs {
		if j.GetState() == pb.JobState_JOB_RUNNING {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
