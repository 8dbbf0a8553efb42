package fsm

import (
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// A restore from a backup, or a recovery from lost quorum, continues from
// a state that may lack entries the lost cluster committed. Its lambdas
// may still run, and the keys they wrote after that state are in the
// store: the same (job, task, epoch, seq) would name different bytes in
// the two timelines, and keys are written only once. RelaunchAll starts
// the new timeline: every claimed task's epoch ends and it is relaunched
// from the checkpoint this state names, and every task's epoch jumps to a
// base above any epoch of the old timeline, so its keys are never reused
// and its lambdas are all superseded.

// relaunchAll applies RelaunchAll.
func (m *Machine) relaunchAll(now int64, r *pb.RelaunchAll) *pb.Result {
	base := max(r.GetEpochBase(), m.epochBase+1)
	for _, t := range m.tasks {
		base = max(base, t.GetEpoch()+1)
	}
	m.epochBase = base
	for _, id := range m.runningJobIDs() {
		j := m.jobs[id]
		relaunched := 0
		for tid := uint64(1); tid < j.GetNextTaskId(); tid++ {
			t := m.tasks[TaskKey{id, tid}]
			if t == nil || isTerminal(t.GetState()) {
				continue
			}
			switch t.GetState() {
			case pb.TaskState_TASK_LAUNCHED, pb.TaskState_TASK_RUNNING:
				m.setState(t, pb.TaskState_TASK_RUNNABLE)
				t.LastOutcome = r.GetReason()
				m.noteRunnable(t, pb.LaunchReason_LAUNCH_NEW_TIMELINE)
				relaunched++
			case pb.TaskState_TASK_BLOCKED:
				// Its waiter stays registered: it is relaunched with
				// the response once that arrives, as after a crash.
				m.setState(t, pb.TaskState_TASK_PARKED)
				t.LastOutcome = r.GetReason()
				relaunched++
			}
			t.Epoch, t.InvocationId, t.Claim = base, "", ""
		}
		m.record(j, now, &pb.JobEvent{Kind: pb.EventKind_EVENT_NEW_TIMELINE, Detail: clip(r.GetReason()), Count: uint64(relaunched)})
		m.checkDeadlock(j, now)
	}
	return &pb.Result{}
}

// EpochBase is the lowest epoch a task can have (0 before any restore).
func (m *Machine) EpochBase() uint64 { return m.epochBase }
