package node

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// taskAPI serves the task API: what running tasks ask of the coordinator.
// Claim, Call and Park are log entries; Poll and Heartbeat are reads.
type taskAPI struct {
	wire.UnimplementedTaskServiceServer
	n *Node
}

// commit proposes a command and returns the FSM's result, mapping a
// refusal or a failure to commit to a precise gRPC error.
func (n *Node) commit(ctx context.Context, cmd *pb.Command) (*pb.Result, error) {
	res, err := n.proposer.propose(ctx, cmd)
	if err != nil {
		return nil, proposeError(ctx, err)
	}
	if res.GetError() != nil {
		return nil, fsmError(ctx, res.GetError())
	}
	return res, nil
}

func (a *taskAPI) Claim(ctx context.Context, req *wire.ClaimRequest) (*wire.ClaimResponse, error) {
	if req.GetJobId() == 0 || req.GetTaskId() == 0 || req.GetEpoch() == 0 || req.GetClaim() == "" {
		return nil, invalid(ctx, "claim needs job_id, task_id, epoch and claim")
	}
	var grant *wire.ClaimResponse
	if req.GetDeferred() && a.n.canDeferClaims() {
		g, err := a.peekGrant(ctx, req)
		if err != nil {
			return nil, err
		}
		grant = g
	} else {
		res, err := a.n.commit(ctx, &pb.Command{Op: &pb.Command_Claim{Claim: &pb.Claim{
			JobId: req.GetJobId(), TaskId: req.GetTaskId(), Epoch: req.GetEpoch(),
			InvocationId: req.GetInvocationId(), Claim: req.GetClaim(),
		}}})
		if err != nil {
			return nil, err
		}
		a.n.leases.heartbeat(refToFSM(&wire.TaskRef{JobId: req.GetJobId(), TaskId: req.GetTaskId(), Epoch: req.GetEpoch(), Claim: req.GetClaim()}))
		grant = grantToWire(res.GetClaim())
	}
	// The claim is committed; a grant without keys is refused, and the
	// same claim sent again is granted again once the keys are there.
	if err := a.n.addJobKeys(grant, req.GetJobId()); err != nil {
		a.n.log.ErrorContext(ctx, "cannot give a claiming task its job's keys", "job", req.GetJobId(), "err", err)
		return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, "claim granted, but this leader cannot give the job's keys: "+err.Error())
	}
	grant.Limits = a.n.cfg.Limits.wire()
	return grant, nil
}

// canDeferClaims: every voter applies a claim sent with a call (command
// version 3), and this node is the leader, whose state the read must see.
func (n *Node) canDeferClaims() bool {
	var version uint32
	n.replica.read(func(m *fsm.Machine) { version = m.ClusterVersion() })
	return version >= 3 && n.isLeader()
}

// peekGrant reads the grant of a deferred claim: no log entry; the claim
// comes later, with the task's first call.
func (a *taskAPI) peekGrant(ctx context.Context, req *wire.ClaimRequest) (*wire.ClaimResponse, error) {
	g, bad := a.n.deferredGrant(req.GetJobId(), req.GetTaskId(), req.GetEpoch(), req.GetInvocationId())
	if bad != nil {
		return nil, fsmError(ctx, bad.GetError())
	}
	return g, nil
}

// deferredGrant is the grant of a launched, not yet claimed invocation, as
// the leader's state has it now (without keys and limits).
func (n *Node) deferredGrant(job, task, epoch uint64, invocation string) (*wire.ClaimResponse, *pb.Result) {
	var g *pb.ClaimGrant
	var bad *pb.Result
	n.replica.read(func(m *fsm.Machine) { g, bad = m.PeekGrant(job, task, epoch, invocation) })
	if bad != nil {
		return nil, bad
	}
	out := grantToWire(g)
	out.Deferred = true
	return out, nil
}

func (a *taskAPI) Call(ctx context.Context, req *wire.CallRequest) (*wire.CallResponse, error) {
	call, limit, err := a.n.prepareCall(req)
	if limit != nil {
		return nil, refused(ctx, "call", limit)
	}
	if err != nil {
		return nil, invalid(ctx, err.Error())
	}
	res, err := a.n.commit(ctx, &pb.Command{Op: &pb.Command_Call{Call: call}})
	if err != nil {
		return nil, err
	}
	a.n.leases.heartbeat(call.GetRef())
	return responseToWire(res.GetResponse()), nil
}

// prepareCall checks a task's call against the limits (limit: refused by
// one) and converts it for the log (err: malformed).
func (n *Node) prepareCall(req *wire.CallRequest) (call *pb.TaskCall, limit, err error) {
	var version uint32
	n.replica.read(func(m *fsm.Machine) { version = m.ClusterVersion() })
	if limit := n.cfg.Limits.checkCall(req, version); limit != nil {
		return nil, limit, nil
	}
	call, err = callToFSM(req)
	return call, nil, err
}

func (a *taskAPI) Park(ctx context.Context, req *wire.ParkRequest) (*wire.ParkResponse, error) {
	if req.GetRef() == nil {
		return nil, invalid(ctx, errNoRef.Error())
	}
	res, err := a.n.commit(ctx, &pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: refToFSM(req.GetRef()), Seq: req.GetSeq()}}})
	if err != nil {
		return nil, err
	}
	out := &wire.ParkResponse{Parked: res.GetPark().GetParked()}
	if r := res.GetPark().GetResponse(); r != nil {
		out.Response = responseToWire(r)
	}
	return out, nil
}

func (a *taskAPI) Poll(ctx context.Context, req *wire.PollRequest) (*wire.PollResponse, error) {
	if req.GetRef() == nil {
		return nil, invalid(ctx, errNoRef.Error())
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	var ready *pb.Response
	var bad *pb.Result
	a.n.replica.read(func(m *fsm.Machine) { ready, bad = m.Poll(refToFSM(req.GetRef()), req.GetSeq()) })
	if bad != nil {
		return nil, fsmError(ctx, bad.GetError())
	}
	a.n.leases.heartbeat(refToFSM(req.GetRef()))
	if ready == nil {
		return &wire.PollResponse{}, nil
	}
	return &wire.PollResponse{Ready: true, Response: responseToWire(ready)}, nil
}

func (a *taskAPI) Heartbeat(ctx context.Context, req *wire.HeartbeatRequest) (*wire.HeartbeatResponse, error) {
	if req.GetRef() == nil {
		return nil, invalid(ctx, errNoRef.Error())
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	ref := refToFSM(req.GetRef())
	var bad *pb.Result
	a.n.replica.read(func(m *fsm.Machine) { bad = m.CheckClaim(ref) })
	if bad != nil {
		return nil, fsmError(ctx, bad.GetError())
	}
	a.n.leases.heartbeat(ref)
	resp := &wire.HeartbeatResponse{}
	if a.n.draining.Load() {
		var t *pb.Task
		a.n.replica.read(func(m *fsm.Machine) { t = m.Task(fsm.TaskKey{Job: ref.GetJobId(), Task: ref.GetTaskId()}) })
		resp.YieldNow = t.GetOnCoordinator()
	}
	return resp, nil
}

// requireLeader refuses reads on a follower: task reads must see the
// leader's state (forwarding to the leader comes with the cluster).
func (n *Node) requireLeader(ctx context.Context) error {
	if !n.isLeader() {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, "this node is not the leader (leader: "+n.leaderAPIAddr()+")")
	}
	return nil
}
