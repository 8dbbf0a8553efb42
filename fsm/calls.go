package fsm

import (
	"bytes"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// checkRef refuses a call whose claim is not the task's current claim.
func (m *Machine) checkRef(ref *pb.TaskRef) (*pb.Job, *pb.Task, *pb.Result) {
	j, t, bad := m.lookup(ref.GetJobId(), ref.GetTaskId())
	if bad != nil {
		return nil, nil, bad
	}
	if !m.unsafe.NoFencing && (ref.GetClaim() == "" || ref.GetEpoch() != t.GetEpoch() || ref.GetClaim() != t.GetClaim()) {
		return nil, nil, fail(pb.ErrorCode_SUPERSEDED, "call refused: the claim of epoch %d on j%d/t%d was superseded: %s",
			ref.GetEpoch(), ref.GetJobId(), ref.GetTaskId(), describeClaim(t))
	}
	return j, t, nil
}

// call applies one task RPC exactly once: seq must be the next one; the
// last one re-sent with the same digest gets its stored response.
func (m *Machine) call(index uint64, now int64, q *pb.Quotas, c *pb.TaskCall) *pb.Result {
	if c.GetClaimInvocation() != "" {
		if bad := m.claimWithCall(now, c); bad != nil {
			return bad
		}
	}
	j, t, bad := m.checkRef(c.GetRef())
	if bad != nil {
		return bad
	}
	switch {
	case c.GetSeq() == t.GetSeq() && c.GetSeq() > 0 && !m.unsafe.NoDedup:
		if !bytes.Equal(c.GetDigest(), t.GetLastDigest()) {
			return fail(pb.ErrorCode_NONDETERMINISTIC_REPLAY, "non-deterministic replay: j%d/t%d call %d was applied with another request (digest %x, now %x)",
				t.GetJobId(), t.GetId(), c.GetSeq(), short(t.GetLastDigest()), short(c.GetDigest()))
		}
		return responseResult(proto.Clone(t.GetLastResponse()).(*pb.Response))
	case c.GetSeq() != t.GetSeq()+1 && !m.unsafe.reapplies(c.GetSeq(), t.GetSeq()):
		return fail(pb.ErrorCode_BAD_SEQ, "bad seq: j%d/t%d expects call %d (or %d re-sent), got %d", t.GetJobId(), t.GetId(), t.GetSeq()+1, t.GetSeq(), c.GetSeq())
	case t.GetState() != pb.TaskState_TASK_RUNNING:
		return fail(pb.ErrorCode_BAD_STATE, "j%d/t%d is %s: call %d must wait for the response of call %d (poll, then park)",
			t.GetJobId(), t.GetId(), taskStateName(t.GetState()), c.GetSeq(), t.GetSeq())
	}
	if bad := m.validateOp(t, c); bad != nil {
		return bad
	}

	// The call is applied: record it, move the pointer, then run the op.
	prevSeq, prevResponse := t.GetSeq(), t.GetLastResponse()
	t.Seq = c.GetSeq()
	t.LastDigest = c.GetDigest()
	t.AppliedCalls++
	t.Audit = append(t.Audit, &pb.Applied{Seq: c.GetSeq(), Digest: short(c.GetDigest()), LogIndex: index})
	if len(t.Audit) > auditKeep {
		t.Audit = t.Audit[len(t.Audit)-auditKeep:]
	}
	j.Rpcs++
	if c.GetCheckpointKey() != "" {
		t.CheckpointKey = c.GetCheckpointKey()
		t.LaunchesWithoutProgress = 0
		j.Checkpoints++
		j.CheckpointBytes += c.GetCheckpointSize()
		t.CheckpointSeq = 0
		m.noteCheckpoint(j, t, now)
	}

	var r *pb.Response
	switch op := c.GetOp().(type) {
	case *pb.TaskCall_Spawn:
		if r = spawnQuota(j, q, len(op.Spawn.GetChildren())); r == nil {
			r = m.spawn(j, t, now, op.Spawn)
		}
	case *pb.TaskCall_Wait:
		r = m.wait(j, t, op.Wait)
	case *pb.TaskCall_Checkpoint:
		r = ack()
	case *pb.TaskCall_Yield:
		j.Yields++
		m.setState(t, pb.TaskState_TASK_RUNNABLE)
		m.taskEvent(j, t, now, pb.EventKind_EVENT_YIELDED, "")
		m.noteRunnable(t, pb.LaunchReason_LAUNCH_YIELD)
		r = ack()
	case *pb.TaskCall_Exit:
		t.LaunchesWithoutProgress = 0
		m.exit(j, t, now, op.Exit)
		r = ack()
	case *pb.TaskCall_Fail:
		m.failTask(j, t, now, op.Fail.GetError())
		if t.GetResumable() {
			// Fail holds no checkpoint: a retry resumes the call before it.
			t.ResumeSeq, t.ResumeResponse = prevSeq, prevResponse
		}
		r = ack()
	case *pb.TaskCall_CreateQueues:
		r = m.createQueues(j, op.CreateQueues)
	case *pb.TaskCall_Enqueue:
		if r = enqueueQuota(j, q, len(op.Enqueue.GetItems())); r == nil {
			r = m.enqueue(j, t, op.Enqueue)
		}
	case *pb.TaskCall_Dequeue:
		r = m.dequeue(j, t, op.Dequeue)
	}
	t.LastResponse = r
	m.checkDeadlock(j, now)
	return responseResult(proto.Clone(r).(*pb.Response))
}

// validateOp refuses a malformed call before anything is applied, so the
// worker can report it and the seq is not consumed.
func (m *Machine) validateOp(t *pb.Task, c *pb.TaskCall) *pb.Result {
	switch op := c.GetOp().(type) {
	case *pb.TaskCall_Spawn:
		if len(op.Spawn.GetChildren()) == 0 {
			return fail(pb.ErrorCode_INVALID, "spawn from j%d/t%d names no child", t.GetJobId(), t.GetId())
		}
		for _, ch := range op.Spawn.GetChildren() {
			if ch.GetStart().GetWhere() == nil {
				return fail(pb.ErrorCode_INVALID, "spawn from j%d/t%d: a child has no start value", t.GetJobId(), t.GetId())
			}
			if bad := m.checkFutures(t, ch.GetAwaits(), "spawn"); bad != nil {
				return bad
			}
		}
	case *pb.TaskCall_Wait:
		if len(op.Wait.GetFutures()) == 0 {
			return fail(pb.ErrorCode_INVALID, "wait from j%d/t%d names no future", t.GetJobId(), t.GetId())
		}
		return m.checkFutures(t, op.Wait.GetFutures(), "wait")
	case *pb.TaskCall_Checkpoint, *pb.TaskCall_Yield:
		if c.GetCheckpointKey() == "" {
			return fail(pb.ErrorCode_INVALID, "checkpoint from j%d/t%d names no checkpoint key", t.GetJobId(), t.GetId())
		}
	case *pb.TaskCall_CreateQueues:
		if c := op.CreateQueues.GetCount(); c == 0 || c > 100000 {
			return fail(pb.ErrorCode_INVALID, "create queues from j%d/t%d: count %d is not between 1 and 100000", t.GetJobId(), t.GetId(), c)
		}
	case *pb.TaskCall_Enqueue:
		if len(op.Enqueue.GetItems()) == 0 {
			return fail(pb.ErrorCode_INVALID, "enqueue from j%d/t%d names no item", t.GetJobId(), t.GetId())
		}
		return m.checkQueue(t, op.Enqueue.GetQueueId(), "enqueue")
	case *pb.TaskCall_Dequeue:
		return m.checkQueue(t, op.Dequeue.GetQueueId(), "dequeue")
	case *pb.TaskCall_Exit, *pb.TaskCall_Fail:
	default:
		return fail(pb.ErrorCode_INVALID, "call %d from j%d/t%d has no operation", c.GetSeq(), t.GetJobId(), t.GetId())
	}
	return nil
}

func (m *Machine) checkFutures(t *pb.Task, futures []uint64, what string) *pb.Result {
	for _, f := range futures {
		if f == t.GetId() {
			return fail(pb.ErrorCode_INVALID, "%s from j%d/t%d: a task cannot wait for its own future", what, t.GetJobId(), t.GetId())
		}
		if m.tasks[TaskKey{t.GetJobId(), f}] == nil {
			return fail(pb.ErrorCode_NOT_FOUND, "%s from j%d/t%d: future t%d does not exist in job j%d", what, t.GetJobId(), t.GetId(), f, t.GetJobId())
		}
	}
	return nil
}

// park ends the epoch of a blocked task, unless its response arrived first.
func (m *Machine) park(now int64, p *pb.Park) *pb.Result {
	j, t, bad := m.checkRef(p.GetRef())
	if bad != nil {
		return bad
	}
	if p.GetSeq() != t.GetSeq() {
		return fail(pb.ErrorCode_BAD_SEQ, "park of j%d/t%d names call %d; its last call is %d", t.GetJobId(), t.GetId(), p.GetSeq(), t.GetSeq())
	}
	parked := &pb.Result{Value: &pb.Result_Park{Park: &pb.ParkOutcome{Parked: true}}}
	switch t.GetState() {
	case pb.TaskState_TASK_BLOCKED:
		m.setState(t, pb.TaskState_TASK_PARKED)
		m.taskEvent(j, t, now, pb.EventKind_EVENT_PARKED, "")
		m.checkDeadlock(j, now)
		return parked
	case pb.TaskState_TASK_RUNNING:
		if !blockingCallDone(t.GetLastResponse()) {
			return fail(pb.ErrorCode_BAD_STATE, "park of j%d/t%d: call %d is not a blocking call", t.GetJobId(), t.GetId(), p.GetSeq())
		}
		resp := proto.Clone(t.GetLastResponse()).(*pb.Response)
		return &pb.Result{Value: &pb.Result_Park{Park: &pb.ParkOutcome{Response: resp}}}
	case pb.TaskState_TASK_PARKED, pb.TaskState_TASK_RUNNABLE:
		// Parked already (a re-sent park): the epoch is over either way.
		return parked
	}
	return fail(pb.ErrorCode_BAD_STATE, "park of j%d/t%d refused: the task is %s", t.GetJobId(), t.GetId(), taskStateName(t.GetState()))
}

func short(d []byte) []byte {
	if len(d) > 8 {
		return d[:8]
	}
	return d
}

// blockingCallDone says whether a response is what a blocking call (wait,
// enqueue, dequeue) answers once it completed, so a late park returns it.
func blockingCallDone(r *pb.Response) bool {
	switch r.GetResult().(type) {
	case *pb.Response_Resolved, *pb.Response_Dequeued, *pb.Response_Ack:
		return true
	}
	return false
}

// claimWithCall applies the claim a deferred-claim task sends with its
// first call: the same rule as a Claim (the first claim of the launched
// epoch and invocation wins), so the call that follows it in this entry is
// fenced as any other. Only an exit or a fail naming no store key may
// carry it: a task writes to the store only after its claim has won, since
// two deliveries of one launch would write the same keys.
func (m *Machine) claimWithCall(now int64, c *pb.TaskCall) *pb.Result {
	ref := c.GetRef()
	j, t, bad := m.lookup(ref.GetJobId(), ref.GetTaskId())
	if bad != nil {
		return bad
	}
	exit := c.GetExit()
	switch {
	case c.GetFail() == nil && exit == nil:
		return fail(pb.ErrorCode_INVALID, "call %d from j%d/t%d claims its launch, which only an exit or a fail may do", c.GetSeq(), t.GetJobId(), t.GetId())
	case c.GetCheckpointKey() != "" || exit.GetResult().GetKey() != "" || exit.GetResultJsonKey() != "":
		return fail(pb.ErrorCode_INVALID, "call %d from j%d/t%d claims its launch and names a store key: a task writes to the store only after it claimed", c.GetSeq(), t.GetJobId(), t.GetId())
	case ref.GetClaim() == "":
		return fail(pb.ErrorCode_INVALID, "call %d from j%d/t%d claims its launch without a claim nonce", c.GetSeq(), t.GetJobId(), t.GetId())
	}
	if ref.GetEpoch() == t.GetEpoch() && c.GetClaimInvocation() == t.GetInvocationId() && t.GetState() == pb.TaskState_TASK_LAUNCHED {
		m.takeClaim(j, t, ref.GetClaim(), now)
	}
	// Otherwise the claim is already decided: this call's own (a re-sent
	// call gets its stored response) or another's (checkRef refuses it).
	return nil
}
