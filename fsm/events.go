package fsm

import (
	"fmt"
	"strings"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// Job history: every job keeps a bounded log of what happened to it
// (submitted, spawned, launched and why, claimed, checkpointed, yielded,
// parked, leader changes, finished, retried), stamped with the committed
// time of the command that caused it. It is part of the replicated state,
// so every replica holds the same history and the state hash covers it.
// Histories are recorded from command version 2 on; below it, nothing is
// recorded, so replicas of mixed builds stay identical.

// DefaultHistoryLimit is how many events a job keeps when its submit names
// no limit: about 30 KB of memory per job at most (docs/operations.md).
const DefaultHistoryLimit = 256

// MaxHistoryLimit bounds a job's history_limit.
const MaxHistoryLimit = 100000

// checkpointEventEvery samples checkpoint events: a task's first
// checkpoint is an event, and then at most one checkpoint per this many
// milliseconds of committed time (the event's count says how many there
// were in all).
const checkpointEventEvery = 10_000

// maxDetail bounds an event's detail text.
const maxDetail = 200

// recording says whether this machine records histories and the task
// table's counters: only once every voter applies command version 2.
func (m *Machine) recording() bool { return m.ClusterVersion() >= 2 }

// record appends an event to the job's history, dropping its oldest
// events beyond the job's limit.
func (m *Machine) record(j *pb.Job, now int64, e *pb.JobEvent) {
	if !m.recording() {
		return
	}
	h := m.histories[j.GetId()]
	if h == nil {
		h = &pb.JobHistory{JobId: j.GetId(), Partial: e.GetKind() != pb.EventKind_EVENT_SUBMITTED}
		m.histories[j.GetId()] = h
	}
	e.Seq = h.GetDropped() + uint64(len(h.Events)) + 1
	e.AtUnixMs = now
	h.Events = append(h.Events, e)
	if over := len(h.Events) - historyLimit(j); over > 0 {
		n := copy(h.Events, h.Events[over:])
		clear(h.Events[n:])
		h.Events = h.Events[:n]
		h.Dropped += uint64(over)
	}
}

func historyLimit(j *pb.Job) int {
	if l := j.GetHistoryLimit(); l > 0 {
		return int(l)
	}
	return DefaultHistoryLimit
}

// taskEvent records an event about one task.
func (m *Machine) taskEvent(j *pb.Job, t *pb.Task, now int64, kind pb.EventKind, detail string) *pb.JobEvent {
	e := &pb.JobEvent{Kind: kind, TaskId: t.GetId(), Epoch: t.GetEpoch(), Detail: clip(detail)}
	m.record(j, now, e)
	return e
}

// clip keeps a detail short and on one line.
func clip(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > maxDetail {
		s = strings.ToValidUTF8(s[:maxDetail], "") + "…"
	}
	return s
}

// errorLine is the line of an error that says what went wrong: a Python
// traceback's last line (the exception), else the first line.
func errorLine(msg string) string {
	msg = strings.TrimRight(msg, "\n ")
	if strings.HasPrefix(msg, "Traceback") {
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			return clip(msg[i+1:])
		}
	}
	return clip(msg)
}

// ---- hooks the commands call ----

func (m *Machine) noteSubmitted(j *pb.Job, s *pb.SubmitJob, now int64, root *pb.Task) {
	if !m.recording() {
		return
	}
	j.HistoryLimit = min(s.GetHistoryLimit(), MaxHistoryLimit)
	m.record(j, now, &pb.JobEvent{Kind: pb.EventKind_EVENT_SUBMITTED, Detail: clip(j.GetName())})
	m.noteRunnable(root, pb.LaunchReason_LAUNCH_FIRST)
}

func (m *Machine) noteSpawned(j *pb.Job, parent, child *pb.Task, now int64) {
	m.taskEvent(j, child, now, pb.EventKind_EVENT_SPAWNED, fmt.Sprintf("%s by t%d", child.GetName(), parent.GetId()))
}

// noteRunnable remembers why a task needs a launch, for its Launch event.
func (m *Machine) noteRunnable(t *pb.Task, why pb.LaunchReason) {
	if m.recording() {
		t.NextLaunch = why
	}
}

func (m *Machine) noteLaunched(j *pb.Job, t *pb.Task, now int64) {
	if !m.recording() {
		return
	}
	why := t.GetNextLaunch()
	if why == pb.LaunchReason_LAUNCH_REASON_UNSPECIFIED && t.GetLaunches() == 0 {
		why = pb.LaunchReason_LAUNCH_FIRST
	}
	t.NextLaunch = pb.LaunchReason_LAUNCH_REASON_UNSPECIFIED
	t.Launches++
	t.LaunchEra = m.leaderEra
	if t.FirstLaunchUnixMs == 0 {
		t.FirstLaunchUnixMs = now
	}
	if t.GetId() == RootTask && j.StartedUnixMs == 0 {
		j.StartedUnixMs = now
	}
	var detail string
	if lost(why) {
		// The outcome's message: the reason says the outcome.
		_, detail, _ = strings.Cut(t.GetLastOutcome(), ": ")
	}
	e := m.taskEvent(j, t, now, pb.EventKind_EVENT_LAUNCHED, detail)
	e.Reason = why
}

// lost says whether a launch reason is an invocation that ended under its
// task (as opposed to a first launch, a yield, an unblock or a retry).
func lost(why pb.LaunchReason) bool {
	switch why {
	case pb.LaunchReason_LAUNCH_TIMEOUT, pb.LaunchReason_LAUNCH_CRASH, pb.LaunchReason_LAUNCH_FUNCTION_ERROR,
		pb.LaunchReason_LAUNCH_LEASE_EXPIRED, pb.LaunchReason_LAUNCH_LEADER_CHANGE, pb.LaunchReason_LAUNCH_NOT_STARTED,
		pb.LaunchReason_LAUNCH_RETURNED:
		return true
	}
	return false
}

// relaunchReason is why a task whose invocation ended under it runs again.
func (m *Machine) relaunchReason(t *pb.Task, o pb.Outcome) pb.LaunchReason {
	switch o {
	case pb.Outcome_OUTCOME_OK:
		return pb.LaunchReason_LAUNCH_RETURNED
	case pb.Outcome_OUTCOME_FUNCTION_ERROR:
		return pb.LaunchReason_LAUNCH_FUNCTION_ERROR
	case pb.Outcome_OUTCOME_TIMEOUT:
		return pb.LaunchReason_LAUNCH_TIMEOUT
	case pb.Outcome_OUTCOME_NOT_STARTED:
		return pb.LaunchReason_LAUNCH_NOT_STARTED
	case pb.Outcome_OUTCOME_LEASE_EXPIRED:
		if t.GetLaunchEra() < m.leaderEra {
			return pb.LaunchReason_LAUNCH_LEADER_CHANGE
		}
		return pb.LaunchReason_LAUNCH_LEASE_EXPIRED
	}
	return pb.LaunchReason_LAUNCH_CRASH
}

func (m *Machine) noteClaimed(j *pb.Job, t *pb.Task, now int64) {
	m.taskEvent(j, t, now, pb.EventKind_EVENT_CLAIMED, "")
}

// noteCheckpoint counts a call that moved the task's pointer; the first
// and then at most one per checkpointEventEvery become events.
func (m *Machine) noteCheckpoint(j *pb.Job, t *pb.Task, now int64) {
	if !m.recording() {
		return
	}
	t.Checkpoints++
	t.LastCheckpointUnixMs = now
	if t.Checkpoints > 1 && now-t.GetCheckpointEventUnixMs() < checkpointEventEvery {
		return
	}
	t.CheckpointEventUnixMs = now
	e := m.taskEvent(j, t, now, pb.EventKind_EVENT_CHECKPOINTED, "")
	e.Count = t.GetCheckpoints()
}

// noteFinished records a task's end (an event unless the job's end ended
// it); a failed task keeps where a retry resumes it: its seq now (a
// failing call fixes that up, see call).
func (m *Machine) noteFinished(j *pb.Job, t *pb.Task, now int64, event bool) {
	if !m.recording() {
		return
	}
	t.FinishedUnixMs = now
	if t.GetState() == pb.TaskState_TASK_FAILED {
		t.Resumable, t.ResumeSeq, t.ResumeResponse = true, t.GetSeq(), nil
	}
	switch {
	case !event:
	case t.GetState() == pb.TaskState_TASK_DONE:
		m.taskEvent(j, t, now, pb.EventKind_EVENT_TASK_DONE, "")
	default:
		m.taskEvent(j, t, now, pb.EventKind_EVENT_TASK_FAILED, errorLine(t.GetError()))
	}
}

func (m *Machine) noteJobEnded(j *pb.Job, now int64, kind pb.EventKind) {
	m.record(j, now, &pb.JobEvent{Kind: kind, Detail: errorLine(j.GetError())})
}

// ---- leader changes ----

// leaderChanged records, in every running job's history, that it lived
// through a change of leader.
func (m *Machine) leaderChanged(now int64, c *pb.LeaderChanged) *pb.Result {
	if c.GetNodeId() == "" {
		return fail(pb.ErrorCode_INVALID, "leader change names no node")
	}
	from := m.leaderID
	m.leaderID = c.GetNodeId()
	m.leaderEra++
	detail := "→ " + c.GetNodeId()
	if from != "" {
		detail = from + " → " + c.GetNodeId()
	}
	for _, id := range m.runningJobIDs() {
		m.record(m.jobs[id], now, &pb.JobEvent{Kind: pb.EventKind_EVENT_LEADER_CHANGED, Detail: detail, Count: c.GetTerm()})
	}
	return &pb.Result{}
}

// ---- reads ----

// History returns a copy of a job's history holding only the events after
// seq after; nil when none was recorded for the job.
func (m *Machine) History(job, after uint64) *pb.JobHistory {
	h := m.histories[job]
	if h == nil {
		return nil
	}
	out := &pb.JobHistory{JobId: job, Dropped: h.GetDropped(), Partial: h.GetPartial()}
	skip := 0
	if after > h.GetDropped() {
		skip = int(min(after-h.GetDropped(), uint64(len(h.Events))))
	}
	for _, e := range h.Events[skip:] {
		out.Events = append(out.Events, proto.Clone(e).(*pb.JobEvent))
	}
	return out
}

// Recording says whether the cluster records job histories now.
func (m *Machine) Recording() bool { return m.recording() }

// TaskRow is one row of a job's task table.
type TaskRow struct {
	ID, Parent                         uint64
	Name                               string
	State                              pb.TaskState
	Epoch                              uint64
	Launches                           uint32
	Checkpoints                        uint64
	LastCheckpoint, FirstLaunch, Ended int64
	Error                              string
}

// TaskTable lists a job's tasks in id order, without copying their
// records.
func (m *Machine) TaskTable(job uint64) []TaskRow {
	j := m.jobs[job]
	if j == nil {
		return nil
	}
	var rows []TaskRow
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		t := m.tasks[TaskKey{job, id}]
		if t == nil {
			continue
		}
		row := TaskRow{ID: id, Parent: t.GetParentId(), Name: t.GetName(), State: t.GetState(), Epoch: t.GetEpoch(),
			Launches: t.GetLaunches(), Checkpoints: t.GetCheckpoints(), LastCheckpoint: t.GetLastCheckpointUnixMs(),
			FirstLaunch: t.GetFirstLaunchUnixMs(), Ended: t.GetFinishedUnixMs()}
		if t.GetState() == pb.TaskState_TASK_FAILED {
			row.Error = errorLine(t.GetError())
		}
		rows = append(rows, row)
	}
	return rows
}

// LeaderID is the leader the last LeaderChanged named ("" before any).
func (m *Machine) LeaderID() string { return m.leaderID }
