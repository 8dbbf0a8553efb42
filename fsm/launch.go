package fsm

import (
	"fmt"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// lookup finds a task of a running job, or says precisely why not.
func (m *Machine) lookup(job, task uint64) (*pb.Job, *pb.Task, *pb.Result) {
	j := m.jobs[job]
	if j == nil {
		return nil, nil, fail(pb.ErrorCode_NOT_FOUND, "job j%d does not exist", job)
	}
	t := m.tasks[TaskKey{job, task}]
	if t == nil {
		return nil, nil, fail(pb.ErrorCode_NOT_FOUND, "task j%d/t%d does not exist", job, task)
	}
	if j.GetState() != pb.JobState_JOB_RUNNING {
		return nil, nil, fail(pb.ErrorCode_JOB_FINISHED, "job j%d already finished (%s)", job, jobStateName(j.GetState()))
	}
	return j, t, nil
}

// launch records that the leader is about to invoke a lambda for the task
// with the next epoch. It is committed before every invocation, so a later
// claim can tell the current invocation from any older one.
func (m *Machine) launch(now int64, l *pb.Launch) *pb.Result {
	j, t, bad := m.lookup(l.GetJobId(), l.GetTaskId())
	if bad != nil {
		return bad
	}
	if t.GetState() != pb.TaskState_TASK_RUNNABLE {
		return fail(pb.ErrorCode_STALE_LAUNCH, "launch of j%d/t%d refused: the task is %s, not runnable", t.GetJobId(), t.GetId(), taskStateName(t.GetState()))
	}
	if l.GetEpoch() != t.GetEpoch()+1 {
		return fail(pb.ErrorCode_STALE_LAUNCH, "launch of j%d/t%d refused: epoch %d, expected %d", t.GetJobId(), t.GetId(), l.GetEpoch(), t.GetEpoch()+1)
	}
	if l.GetInvocationId() == "" {
		return fail(pb.ErrorCode_INVALID, "launch of j%d/t%d has no invocation id", t.GetJobId(), t.GetId())
	}
	t.Epoch = l.GetEpoch()
	t.InvocationId = l.GetInvocationId()
	t.SecretHash = l.GetSecretHash()
	t.Claim = ""
	t.LaunchesWithoutProgress++
	j.Launches++
	// A relaunch: an epoch after the task's first (epochs of a task start
	// at the epoch base), or the first of a restored task that ran before.
	if t.Epoch > m.epochBase+1 || t.GetClaims() > 0 {
		j.Relaunches++
	}
	if t.Epoch > j.MaxEpoch {
		j.MaxEpoch = t.Epoch
	}
	m.chargeLaunch(j)
	m.setState(t, pb.TaskState_TASK_LAUNCHED)
	m.noteLaunched(j, t, now)
	return &pb.Result{}
}

// claim: the first claim of the launched (task, epoch, invocation) wins.
// The same claim sent again gets the same grant.
func (m *Machine) claim(now int64, c *pb.Claim) *pb.Result {
	j, t, bad := m.lookup(c.GetJobId(), c.GetTaskId())
	if bad != nil {
		return bad
	}
	if c.GetClaim() == "" {
		return fail(pb.ErrorCode_INVALID, "claim of j%d/t%d has no claim nonce", c.GetJobId(), c.GetTaskId())
	}
	current := c.GetEpoch() == t.GetEpoch() && c.GetInvocationId() == t.GetInvocationId()
	switch {
	case current && t.GetState() == pb.TaskState_TASK_LAUNCHED:
		m.takeClaim(j, t, c.GetClaim(), now)
	case current && t.GetClaim() == c.GetClaim() && (t.GetState() == pb.TaskState_TASK_RUNNING || t.GetState() == pb.TaskState_TASK_BLOCKED):
		// A re-sent claim: grant it again.
	default:
		return claimSuperseded(c.GetJobId(), c.GetTaskId(), c.GetEpoch(), t)
	}
	return &pb.Result{Value: &pb.Result_Claim{Claim: m.grant(j, t)}}
}

// takeClaim makes nonce the launched task's claim: it is running.
func (m *Machine) takeClaim(j *pb.Job, t *pb.Task, nonce string, now int64) {
	t.Claim = nonce
	t.Claims++
	m.setState(t, pb.TaskState_TASK_RUNNING)
	m.noteClaimed(j, t, now)
}

func (m *Machine) grant(j *pb.Job, t *pb.Task) *pb.ClaimGrant {
	g := &pb.ClaimGrant{
		Seq:           t.GetSeq(),
		CheckpointKey: t.GetCheckpointKey(),
		Start:         t.GetStart(),
		ProgramHash:   j.GetProgramHash(),
		Root:          t.GetId() == RootTask,
		ParentId:      t.GetParentId(),
		Name:          t.GetName(),
		ClusterId:     m.clusterID,
		Attempt:       t.GetClaims(),
		External:      t.GetExternal(),
		OnCoordinator: t.GetOnCoordinator(),
		CheckpointSeq: t.GetCheckpointSeq(),
	}
	if t.GetSeq() > 0 {
		g.LastResponse = t.GetLastResponse()
	}
	if g.Root {
		g.EventJson = j.GetEventJson()
	}
	for _, f := range t.GetAwaits() {
		g.Awaited = append(g.Awaited, m.futureResult(TaskKey{t.GetJobId(), f}))
	}
	return proto.Clone(g).(*pb.ClaimGrant)
}

func claimSuperseded(job, task, epoch uint64, t *pb.Task) *pb.Result {
	return fail(pb.ErrorCode_SUPERSEDED, "claim refused: this invocation of j%d/t%d (epoch %d) was superseded: %s",
		job, task, epoch, describeClaim(t))
}

// describeClaim says where a task is now, for "superseded" messages. It
// names epochs and states only: never an invocation id, a claim nonce or
// anything else another caller could present as its own.
func describeClaim(t *pb.Task) string {
	switch {
	case isTerminal(t.GetState()):
		return fmt.Sprintf("the task is %s", taskStateName(t.GetState()))
	case t.GetClaim() == "":
		return fmt.Sprintf("the current epoch is %d (%s)", t.GetEpoch(), taskStateName(t.GetState()))
	default:
		return fmt.Sprintf("the current epoch is %d, claimed by another invocation", t.GetEpoch())
	}
}

// invocationEnded handles a lambda that returned, timed out or crashed.
// If the task is still in that invocation's epoch without having yielded,
// parked or exited, the invocation died under it: relaunch it from its
// pointer, or fail it once it has been launched too often without progress.
func (m *Machine) invocationEnded(now int64, e *pb.InvocationEnded) *pb.Result {
	j, t, bad := m.lookup(e.GetJobId(), e.GetTaskId())
	if bad != nil {
		return bad
	}
	ignored := &pb.Result{Value: &pb.Result_Ignored{Ignored: true}}
	if e.GetEpoch() != t.GetEpoch() || e.GetInvocationId() != t.GetInvocationId() {
		return ignored
	}
	t.LastOutcome = fmt.Sprintf("%s: %s", outcomeName(e.GetOutcome()), e.GetMessage())
	switch t.GetState() {
	case pb.TaskState_TASK_LAUNCHED, pb.TaskState_TASK_RUNNING:
	case pb.TaskState_TASK_BLOCKED:
		// The worker died while polling: the waiter stays registered and
		// the task is relaunched when its response arrives.
		m.setState(t, pb.TaskState_TASK_PARKED)
		m.taskEvent(j, t, now, pb.EventKind_EVENT_PARKED, "its invocation ended: "+t.GetLastOutcome())
		m.checkDeadlock(j, now)
		return &pb.Result{}
	default:
		return ignored
	}
	if t.GetLaunchesWithoutProgress() >= j.GetMaxLaunches() {
		m.failTask(j, t, now, fmt.Sprintf("task j%d/t%d was launched %d times without reaching a new checkpoint; last invocation: %s",
			t.GetJobId(), t.GetId(), t.GetLaunchesWithoutProgress(), t.GetLastOutcome()))
		return &pb.Result{}
	}
	m.setState(t, pb.TaskState_TASK_RUNNABLE)
	m.noteRunnable(t, m.relaunchReason(t, e.GetOutcome()))
	return &pb.Result{}
}

func outcomeName(o pb.Outcome) string {
	switch o {
	case pb.Outcome_OUTCOME_OK:
		return "returned while the task was still running"
	case pb.Outcome_OUTCOME_FUNCTION_ERROR:
		return "function error"
	case pb.Outcome_OUTCOME_TIMEOUT:
		return "timed out"
	case pb.Outcome_OUTCOME_CRASH:
		return "crashed"
	case pb.Outcome_OUTCOME_NOT_STARTED:
		return "not started"
	case pb.Outcome_OUTCOME_LEASE_EXPIRED:
		return "lease expired"
	}
	return "unknown outcome"
}
