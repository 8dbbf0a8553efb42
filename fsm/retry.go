package fsm

import (
	"fmt"
	"strings"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Retry resumes a failed or cancelled job. Every task that did not succeed
// runs again from its checkpoint pointer with a fresh launch budget, and
// its future is pending again, so whoever waits for it waits again:
//
//   - a task that never reached a checkpoint starts over from its start
//     value, after the futures it awaits (pending again if they are retried);
//   - a task whose last call was a wait that was answered with a failed
//     future (or was still blocked) waits again for the futures of that
//     call that did not succeed, and is relaunched with their new results;
//   - a task blocked on a queue is parked again (its place in the queue
//     was kept);
//   - any other task is runnable at once.
//
// A task that failed by its own Fail call resumes from the call before
// it: Fail carries no checkpoint, so the pointer is that call's
// checkpoint, and its response is restored (resume_seq/resume_response).
// The seq keeps rising: the worker is told which call the checkpoint was
// written for (checkpoint_seq) and numbers its next call after the Fail.
// A task that caught a failed future and went on keeps what it did: only
// the last call can be waited again.

func (m *Machine) retryJob(now int64, q *pb.Quotas, r *pb.RetryJob) *pb.Result {
	j := m.jobs[r.GetJobId()]
	switch {
	case j == nil:
		return fail(pb.ErrorCode_NOT_FOUND, "job j%d does not exist", r.GetJobId())
	case j.GetState() == pb.JobState_JOB_RUNNING:
		return fail(pb.ErrorCode_BAD_STATE, "job j%d is still running; only a failed or cancelled job can be retried", j.GetId())
	case j.GetState() == pb.JobState_JOB_SUCCEEDED:
		return fail(pb.ErrorCode_BAD_STATE, "job j%d succeeded; there is nothing to retry", j.GetId())
	}
	again := m.unfinished(j)
	for _, t := range again {
		if !t.GetResumable() {
			return fail(pb.ErrorCode_BAD_STATE, "job j%d cannot be retried: task t%d failed before the cluster kept resume points (command version 2)", j.GetId(), t.GetId())
		}
	}
	// A retried job is live again, so it counts against the cluster's jobs.
	if refusal := m.submitQuota(q, j.GetOwner()); refusal != nil {
		return refusal
	}
	m.countLive(j, 1)
	j.State = pb.JobState_JOB_RUNNING
	j.Error = ""
	j.FinishedUnixMs = 0
	j.FinishedClockMs = 0
	j.Retries++
	for _, t := range again {
		resetForRetry(t)
	}
	ids := make([]uint64, len(again))
	names := make([]string, len(again))
	for i, t := range again {
		m.resume(j, t)
		ids[i] = t.GetId()
		names[i] = fmt.Sprintf("t%d", t.GetId())
	}
	detail := strings.Join(names, ", ")
	if r.GetReason() != "" {
		detail = r.GetReason() + ": " + detail
	}
	m.record(j, now, &pb.JobEvent{Kind: pb.EventKind_EVENT_RETRIED, Detail: clip(detail), Count: uint64(len(again))})
	m.checkDeadlock(j, now)
	return &pb.Result{Value: &pb.Result_Retried{Retried: &pb.Retried{TaskIds: ids}}}
}

// unfinished lists a job's tasks that did not succeed, in id order.
func (m *Machine) unfinished(j *pb.Job) []*pb.Task {
	var out []*pb.Task
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		if t := m.tasks[TaskKey{j.GetId(), id}]; t != nil && t.GetState() != pb.TaskState_TASK_DONE {
			out = append(out, t)
		}
	}
	return out
}

// resetForRetry clears a task's failure and its waiter lists (resume
// registers every waiter again) and restores the call it resumes from.
func resetForRetry(t *pb.Task) {
	t.Failed = false
	t.Error = ""
	t.FinishedUnixMs = 0
	t.LaunchesWithoutProgress = 0
	t.Claim = ""
	t.Waiters = nil
	if t.GetResumeSeq() < t.GetSeq() {
		t.LastResponse = t.GetResumeResponse()
		if t.GetCheckpointKey() != "" {
			t.CheckpointSeq = t.GetResumeSeq()
		}
	}
	t.Resumable, t.ResumeSeq, t.ResumeResponse = false, 0, nil
}

// resume puts a retried task in the state it resumes in (see the top of
// this file), registering it as a waiter of the futures it waits for.
func (m *Machine) resume(j *pb.Job, t *pb.Task) {
	if t.GetCheckpointKey() == "" && len(t.GetAwaits()) > 0 {
		// It starts over from its start value, which needs its awaited
		// futures' results.
		t.AwaitsPending = m.waitAgain(j, t, t.GetAwaits(), pb.WaitKind_WAIT_START)
		if t.AwaitsPending > 0 {
			m.setState(t, pb.TaskState_TASK_PENDING)
			return
		}
	} else if futures := waitedFor(t); len(futures) > 0 {
		t.WaitingOn = futures
		t.WaitingPending = m.waitAgain(j, t, futures, pb.WaitKind_WAIT_CALL)
		if t.WaitingPending > 0 {
			m.setState(t, pb.TaskState_TASK_PARKED)
			return
		}
		t.LastResponse = m.resolved(j, t)
	} else if t.GetBlockedQueue() != 0 {
		m.setState(t, pb.TaskState_TASK_PARKED)
		return
	}
	m.setState(t, pb.TaskState_TASK_RUNNABLE)
	m.noteRunnable(t, pb.LaunchReason_LAUNCH_RETRY)
}

// waitAgain registers t as a waiter of each future that has not succeeded
// and returns how many those are.
func (m *Machine) waitAgain(j *pb.Job, t *pb.Task, futures []uint64, kind pb.WaitKind) uint32 {
	var pending uint32
	for _, f := range futures {
		ft := m.tasks[TaskKey{j.GetId(), f}]
		if ft.GetState() != pb.TaskState_TASK_DONE {
			pending++
			ft.Waiters = append(ft.Waiters, &pb.Waiter{TaskId: t.GetId(), Kind: kind})
		}
	}
	return pending
}

// waitedFor is the futures of a task's last call when that call is a wait
// to make again: one still blocked, or one answered with a failed future.
func waitedFor(t *pb.Task) []uint64 {
	if len(t.GetWaitingOn()) > 0 {
		return t.GetWaitingOn()
	}
	results := t.GetLastResponse().GetResolved().GetResults()
	var futures []uint64
	failed := false
	for _, r := range results {
		futures = append(futures, r.GetTaskId())
		failed = failed || r.GetFailed()
	}
	if !failed {
		return nil
	}
	return futures
}

// RetryKey is a store key a retry of a job needs, and why.
type RetryKey struct {
	Task uint64
	What string // "checkpoint", "start value", "response value"
	Key  string
}

// RetryNeeds lists what a retry of a job reads from the store: its
// program (by hash) and, per task that would run again, its checkpoint or
// start value and the values of the response it resumes with.
func (m *Machine) RetryNeeds(job uint64) (program string, keys []RetryKey) {
	j := m.jobs[job]
	if j == nil {
		return "", nil
	}
	for _, t := range m.unfinished(j) {
		if k := t.GetCheckpointKey(); k != "" {
			keys = append(keys, RetryKey{t.GetId(), "checkpoint", k})
		} else if k := t.GetStart().GetKey(); k != "" {
			keys = append(keys, RetryKey{t.GetId(), "start value", k})
		}
		resp := t.GetLastResponse()
		if t.GetResumeSeq() < t.GetSeq() {
			resp = t.GetResumeResponse()
		}
		for _, v := range responseValues(resp) {
			if k := v.GetKey(); k != "" {
				keys = append(keys, RetryKey{t.GetId(), "response value", k})
			}
		}
	}
	return j.GetProgramHash(), keys
}

// responseValues are the values a stored response hands its task.
func responseValues(r *pb.Response) []*pb.Value {
	var out []*pb.Value
	for _, res := range r.GetResolved().GetResults() {
		out = append(out, res.GetValue())
	}
	if it := r.GetDequeued().GetItem(); it != nil {
		out = append(out, it)
	}
	return out
}
