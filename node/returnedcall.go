package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// A worker that started from the payload's grant (payloadgrant.go) and
// whose first call is its exit or its failure, naming no store key, may
// return that call in its invocation's result instead of sending it: the
// leader that invoked it commits it as the task API would have, the claim
// with it. A trivial task then makes no round trip to the coordinator at
// all. The rules do not change: the call carries the launch's claim, the
// FSM refuses it when another delivery of the launch claimed first or the
// job is over, and a call lost with its leader is as if the worker died
// before sending it (the lease relaunches the task).

// invocationResult is the part of a worker's result the leader reads.
type invocationResult struct {
	Call string `json:"call"` // a CallRequest, protobuf, base64
}

// commitReturnedCall commits the call an invocation of (k, epoch, inv)
// returned, if any.
func (n *Node) commitReturnedCall(ctx context.Context, k fsm.TaskKey, epoch uint64, inv string, result []byte) {
	var out invocationResult
	if json.Unmarshal(result, &out) != nil || out.Call == "" {
		return
	}
	req, err := returnedCall(k, epoch, inv, out.Call)
	if err != nil {
		n.log.Warn("ignoring the call an invocation returned", "task", k, "epoch", epoch, "err", err)
		return
	}
	refusal := n.commitCall(ctx, req)
	if refusal == "" || req.GetExit() == nil {
		return
	}
	// As the worker does when its exit is refused (a limit): the task
	// fails, saying why, instead of being relaunched into the same refusal.
	req.Op = &wire.CallRequest_Fail{Fail: &wire.FailOp{Error: "exit refused by the coordinator: " + refusal}}
	if again := n.commitCall(ctx, req); again != "" {
		n.log.Info("a returned exit and its failure were refused", "task", k, "epoch", epoch, "err", again)
	}
}

// returnedCall decodes a returned call and checks that it is the storeless
// first call of exactly that launch, carrying its claim.
func returnedCall(k fsm.TaskKey, epoch uint64, inv, b64 string) (*wire.CallRequest, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	req := &wire.CallRequest{}
	if err == nil {
		err = proto.Unmarshal(b, req)
	}
	if err != nil {
		return nil, fmt.Errorf("the call does not decode: %w", err)
	}
	ref := req.GetRef()
	if ref.GetJobId() != k.Job || ref.GetTaskId() != k.Task || ref.GetEpoch() != epoch || req.GetClaimInvocation() != inv {
		return nil, fmt.Errorf("the call is not this launch's (j%d/t%d epoch %d)", ref.GetJobId(), ref.GetTaskId(), ref.GetEpoch())
	}
	if (req.GetExit() == nil && req.GetFail() == nil) || req.GetCheckpointKey() != "" {
		return nil, errors.New("only an exit or a fail naming no store key may be returned")
	}
	return req, nil
}

// commitCall commits a returned call: "" once applied (or when it could
// not be committed: the task is then relaunched), else why the limits or
// the FSM refused it other than for fencing (superseded, job over).
func (n *Node) commitCall(ctx context.Context, req *wire.CallRequest) string {
	call, limit, err := n.prepareCall(req)
	if limit != nil {
		return limit.Error()
	}
	if err != nil {
		return err.Error()
	}
	res, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_Call{Call: call}})
	if err != nil {
		n.log.Debug("returned call not committed", "task", req.GetRef().GetTaskId(), "err", err)
		return ""
	}
	switch res.GetError().GetCode() {
	case pb.ErrorCode_OK, pb.ErrorCode_SUPERSEDED, pb.ErrorCode_JOB_FINISHED:
		return ""
	}
	return res.GetError().GetMessage()
}
