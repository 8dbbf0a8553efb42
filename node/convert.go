package node

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Conversions between the wire messages (transport/) and the FSM's own
// (fsm/), which are kept apart so the core never depends on the wire.

func valueToFSM(v *wire.Value) *pb.Value {
	switch w := v.GetWhere().(type) {
	case *wire.Value_Inline:
		return &pb.Value{Where: &pb.Value_Inline{Inline: w.Inline}}
	case *wire.Value_Key:
		return &pb.Value{Where: &pb.Value_Key{Key: w.Key}}
	}
	return nil
}

func valueToWire(v *pb.Value) *wire.Value {
	switch w := v.GetWhere().(type) {
	case *pb.Value_Inline:
		return &wire.Value{Where: &wire.Value_Inline{Inline: w.Inline}}
	case *pb.Value_Key:
		return &wire.Value{Where: &wire.Value_Key{Key: w.Key}}
	}
	return nil
}

func resultsToWire(rs []*pb.FutureResult) []*wire.FutureResult {
	out := make([]*wire.FutureResult, len(rs))
	for i, r := range rs {
		out[i] = &wire.FutureResult{TaskId: r.GetTaskId(), Failed: r.GetFailed(), Value: valueToWire(r.GetValue()), Error: r.GetError()}
	}
	return out
}

func responseToWire(r *pb.Response) *wire.CallResponse {
	switch v := r.GetResult().(type) {
	case *pb.Response_Ack:
		return &wire.CallResponse{Result: &wire.CallResponse_Ack{Ack: &wire.Ack{}}}
	case *pb.Response_Spawned:
		return &wire.CallResponse{Result: &wire.CallResponse_Spawned{Spawned: &wire.Spawned{TaskIds: v.Spawned.GetTaskIds()}}}
	case *pb.Response_Resolved:
		return &wire.CallResponse{Result: &wire.CallResponse_Resolved{Resolved: &wire.Resolved{Results: resultsToWire(v.Resolved.GetResults())}}}
	case *pb.Response_Blocked:
		return &wire.CallResponse{Result: &wire.CallResponse_Blocked{Blocked: &wire.Blocked{NotRunning: v.Blocked.GetNotRunning()}}}
	case *pb.Response_QueuesCreated:
		return &wire.CallResponse{Result: &wire.CallResponse_QueuesCreated{QueuesCreated: &wire.QueuesCreated{QueueIds: v.QueuesCreated.GetQueueIds()}}}
	case *pb.Response_Dequeued:
		return &wire.CallResponse{Result: &wire.CallResponse_Dequeued{Dequeued: &wire.Dequeued{Item: valueToWire(v.Dequeued.GetItem())}}}
	case *pb.Response_Refused:
		reason := wire.ErrorReason_ERROR_REASON_UNSPECIFIED
		if v.Refused.GetCode() == pb.ErrorCode_QUOTA_EXCEEDED {
			reason = wire.ErrorReason_QUOTA_EXCEEDED
		}
		return &wire.CallResponse{Result: &wire.CallResponse_Refused{Refused: &wire.Refused{Reason: reason, Message: v.Refused.GetMessage()}}}
	}
	return nil
}

func grantToWire(g *pb.ClaimGrant) *wire.ClaimResponse {
	out := &wire.ClaimResponse{
		Seq:           g.GetSeq(),
		CheckpointKey: g.GetCheckpointKey(),
		Start:         valueToWire(g.GetStart()),
		Awaited:       resultsToWire(g.GetAwaited()),
		ProgramHash:   g.GetProgramHash(),
		EventJson:     g.GetEventJson(),
		Root:          g.GetRoot(),
		ParentId:      g.GetParentId(),
		Name:          g.GetName(),
		ClusterId:     g.GetClusterId(),
		Attempt:       g.GetAttempt(),
		External:      g.GetExternal(),
		OnCoordinator: g.GetOnCoordinator(),
		CheckpointSeq: g.GetCheckpointSeq(),
	}
	if g.GetLastResponse() != nil {
		out.LastResponse = responseToWire(g.GetLastResponse())
	}
	return out
}

func refToFSM(r *wire.TaskRef) *pb.TaskRef {
	return &pb.TaskRef{JobId: r.GetJobId(), TaskId: r.GetTaskId(), Epoch: r.GetEpoch(), Claim: r.GetClaim()}
}

var errNoRef = errors.New("the call carries no task reference (job, task, epoch, claim)")

// callToFSM converts a task call and stamps the digest of its request: the
// operation alone, without the claim or the checkpoint key, since a
// relaunched worker re-sending the same request writes another key.
func callToFSM(c *wire.CallRequest) (*pb.TaskCall, error) {
	if c.GetRef() == nil {
		return nil, errNoRef
	}
	if c.GetSeq() == 0 {
		return nil, errors.New("the call has seq 0; calls are numbered from 1")
	}
	out := &pb.TaskCall{Ref: refToFSM(c.GetRef()), Seq: c.GetSeq(), CheckpointKey: c.GetCheckpointKey(), CheckpointSize: c.GetCheckpointSize(),
		ClaimInvocation: c.GetClaimInvocation()}
	switch op := c.GetOp().(type) {
	case *wire.CallRequest_Spawn:
		s := &pb.Spawn{}
		for _, ch := range op.Spawn.GetChildren() {
			s.Children = append(s.Children, &pb.Child{Start: valueToFSM(ch.GetStart()), Awaits: ch.GetAwaits(), Name: ch.GetName(),
				External: ch.GetExternal(), OnCoordinator: ch.GetOnCoordinator()})
		}
		out.Op = &pb.TaskCall_Spawn{Spawn: s}
	case *wire.CallRequest_Wait:
		out.Op = &pb.TaskCall_Wait{Wait: &pb.Wait{Futures: op.Wait.GetFutures()}}
	case *wire.CallRequest_Checkpoint:
		out.Op = &pb.TaskCall_Checkpoint{Checkpoint: &pb.Checkpoint{}}
	case *wire.CallRequest_Yield:
		out.Op = &pb.TaskCall_Yield{Yield: &pb.Yield{}}
	case *wire.CallRequest_Exit:
		out.Op = &pb.TaskCall_Exit{Exit: &pb.Exit{Result: valueToFSM(op.Exit.GetResult()), ResultJson: op.Exit.GetResultJson(),
			ResultJsonKey: op.Exit.GetResultJsonKey(), ResultJsonBytes: op.Exit.GetResultJsonBytes()}}
	case *wire.CallRequest_Fail:
		out.Op = &pb.TaskCall_Fail{Fail: &pb.Fail{Error: op.Fail.GetError()}}
	case *wire.CallRequest_CreateQueues:
		out.Op = &pb.TaskCall_CreateQueues{CreateQueues: &pb.CreateQueues{MaxSize: op.CreateQueues.GetMaxSize(), Count: op.CreateQueues.GetCount()}}
	case *wire.CallRequest_Enqueue:
		e := &pb.Enqueue{QueueId: op.Enqueue.GetQueueId()}
		for _, it := range op.Enqueue.GetItems() {
			e.Items = append(e.Items, valueToFSM(it))
		}
		out.Op = &pb.TaskCall_Enqueue{Enqueue: e}
	case *wire.CallRequest_Dequeue:
		out.Op = &pb.TaskCall_Dequeue{Dequeue: &pb.Dequeue{QueueId: op.Dequeue.GetQueueId()}}
	default:
		return nil, fmt.Errorf("call %d names no operation", c.GetSeq())
	}
	digest, err := opDigest(out)
	if err != nil {
		return nil, err
	}
	out.Digest = digest
	return out, nil
}

func opDigest(c *pb.TaskCall) ([]byte, error) {
	op := &pb.TaskCall{Op: c.GetOp()}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("digest: %w", err)
	}
	sum := sha256.Sum256(data)
	return sum[:], nil
}
