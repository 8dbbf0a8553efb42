package fsm

import (
	"fmt"
	"strings"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Every task is a future: its result once it is DONE, its error once it
// FAILED. Waiters register in FIFO order and are fulfilled directly by the
// call that finishes the future, which writes into their response slot.

func (m *Machine) spawn(j *pb.Job, parent *pb.Task, now int64, s *pb.Spawn) *pb.Response {
	ids := make([]uint64, 0, len(s.GetChildren()))
	for _, ch := range s.GetChildren() {
		id := j.GetNextTaskId()
		j.NextTaskId++
		child := &pb.Task{
			JobId:         j.GetId(),
			Id:            id,
			ParentId:      parent.GetId(),
			Name:          ch.GetName(),
			Start:         ch.GetStart(),
			Awaits:        ch.GetAwaits(),
			External:      ch.GetExternal(),
			OnCoordinator: ch.GetOnCoordinator(),
		}
		m.addTask(child, pb.TaskState_TASK_PENDING)
		m.noteSpawned(j, parent, child, now)
		for _, f := range ch.GetAwaits() {
			ft := m.tasks[TaskKey{j.GetId(), f}]
			if !isTerminal(ft.GetState()) {
				child.AwaitsPending++
				ft.Waiters = append(ft.Waiters, &pb.Waiter{TaskId: id, Kind: pb.WaitKind_WAIT_START})
			}
		}
		m.startIfReady(j, child, now)
		ids = append(ids, id)
	}
	return &pb.Response{Result: &pb.Response_Spawned{Spawned: &pb.Spawned{TaskIds: ids}}}
}

// startIfReady makes a pending child runnable once every future it awaits
// has finished, or fails it if one of them failed.
func (m *Machine) startIfReady(j *pb.Job, child *pb.Task, now int64) {
	if child.GetAwaitsPending() > 0 || child.GetState() != pb.TaskState_TASK_PENDING {
		return
	}
	for _, f := range child.GetAwaits() {
		if ft := m.tasks[TaskKey{j.GetId(), f}]; ft.GetState() == pb.TaskState_TASK_FAILED {
			m.failTask(j, child, now, fmt.Sprintf("awaited future t%d failed: %s", f, ft.GetError()))
			return
		}
	}
	m.setState(child, pb.TaskState_TASK_RUNNABLE)
	m.noteRunnable(child, pb.LaunchReason_LAUNCH_FIRST)
}

func (m *Machine) wait(j *pb.Job, t *pb.Task, w *pb.Wait) *pb.Response {
	t.WaitingOn = w.GetFutures()
	t.WaitingPending = 0
	var notRunning uint32
	for _, f := range w.GetFutures() {
		ft := m.tasks[TaskKey{j.GetId(), f}]
		if !isTerminal(ft.GetState()) {
			t.WaitingPending++
			ft.Waiters = append(ft.Waiters, &pb.Waiter{TaskId: t.GetId(), Kind: pb.WaitKind_WAIT_CALL})
			if s := ft.GetState(); s != pb.TaskState_TASK_RUNNING && s != pb.TaskState_TASK_BLOCKED {
				notRunning++
			}
		}
	}
	if t.WaitingPending == 0 {
		return m.resolved(j, t)
	}
	m.setState(t, pb.TaskState_TASK_BLOCKED)
	return &pb.Response{Result: &pb.Response_Blocked{Blocked: &pb.Blocked{NotRunning: notRunning}}}
}

// resolved builds the response of a finished wait, in the order asked.
func (m *Machine) resolved(j *pb.Job, t *pb.Task) *pb.Response {
	res := &pb.Resolved{}
	for _, f := range t.GetWaitingOn() {
		res.Results = append(res.Results, m.futureResult(TaskKey{j.GetId(), f}))
	}
	t.WaitingOn = nil
	return &pb.Response{Result: &pb.Response_Resolved{Resolved: res}}
}

func (m *Machine) futureResult(k TaskKey) *pb.FutureResult {
	ft := m.tasks[k]
	return &pb.FutureResult{TaskId: k.Task, Failed: ft.GetFailed(), Value: ft.GetResult(), Error: ft.GetError()}
}

func (m *Machine) exit(j *pb.Job, t *pb.Task, now int64, e *pb.Exit) {
	t.Result = e.GetResult()
	m.setState(t, pb.TaskState_TASK_DONE)
	m.noteFinished(j, t, now, true)
	if t.GetId() == RootTask {
		j.Result = e.GetResult()
		j.ResultJson = e.GetResultJson()
		j.ResultJsonKey = e.GetResultJsonKey()
		j.ResultJsonBytes = uint64(len(e.GetResultJson()))
		if j.ResultJsonKey != "" {
			j.ResultJsonBytes = e.GetResultJsonBytes()
		}
		m.finishJob(j, now, pb.JobState_JOB_SUCCEEDED, "")
		return
	}
	m.notifyWaiters(j, t, now)
}

// failTask fails a task; its waiters see the error, and a failed root
// fails the job.
func (m *Machine) failTask(j *pb.Job, t *pb.Task, now int64, msg string) {
	t.Failed = true
	t.Error = msg
	m.setState(t, pb.TaskState_TASK_FAILED)
	m.noteFinished(j, t, now, true)
	if t.GetId() == RootTask {
		m.finishJob(j, now, pb.JobState_JOB_FAILED, msg)
		return
	}
	m.notifyWaiters(j, t, now)
	// A child that fails outside a call (out of launches) may have been
	// the last task that could run: then the others wait forever.
	m.checkDeadlock(j, now)
}

// notifyWaiters fulfils the waiters of a finished future in FIFO order.
func (m *Machine) notifyWaiters(j *pb.Job, t *pb.Task, now int64) {
	waiters := t.GetWaiters()
	t.Waiters = nil
	for _, w := range waiters {
		wt := m.tasks[TaskKey{j.GetId(), w.GetTaskId()}]
		if wt == nil || isTerminal(wt.GetState()) || j.GetState() != pb.JobState_JOB_RUNNING {
			continue
		}
		switch w.GetKind() {
		case pb.WaitKind_WAIT_START:
			wt.AwaitsPending--
			m.startIfReady(j, wt, now)
		case pb.WaitKind_WAIT_CALL:
			wt.WaitingPending--
			if wt.GetWaitingPending() > 0 {
				continue
			}
			m.release(j, wt.GetId(), m.resolved(j, wt))
		}
	}
}

// taskStateName is the lower-case name of a task state ("running").
func taskStateName(s pb.TaskState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TASK_"))
}

func jobStateName(s pb.JobState) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "JOB_"))
}
