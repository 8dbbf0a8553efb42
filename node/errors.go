package node

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// reasonKey is the trailing metadata key that carries a wire.ErrorReason,
// so workers and clients act on the reason without parsing messages.
const reasonKey = "kappa-reason"

// ReasonDomain is the domain of the ErrorInfo detail every Kappa error
// carries, whose Reason is a wire.ErrorReason name: clients that see only
// the error (the CLI's exit codes) read the reason from it.
const ReasonDomain = "kappa.dev"

// rpcError builds a gRPC status error with a reason trailer and detail.
func rpcError(ctx context.Context, code codes.Code, reason wire.ErrorReason, msg string) error {
	_ = grpc.SetTrailer(ctx, metadata.Pairs(reasonKey, reason.String()))
	st := status.New(code, msg)
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason.String(), Domain: ReasonDomain}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// fsmError maps an FSM refusal to the wire.
func fsmError(ctx context.Context, e *pb.Error) error {
	code, reason := codes.Internal, wire.ErrorReason_ERROR_REASON_UNSPECIFIED
	switch e.GetCode() {
	case pb.ErrorCode_SUPERSEDED:
		code, reason = codes.FailedPrecondition, wire.ErrorReason_SUPERSEDED
	case pb.ErrorCode_NONDETERMINISTIC_REPLAY:
		code, reason = codes.FailedPrecondition, wire.ErrorReason_NONDETERMINISTIC_REPLAY
	case pb.ErrorCode_BAD_SEQ:
		code, reason = codes.FailedPrecondition, wire.ErrorReason_BAD_SEQ
	case pb.ErrorCode_NOT_FOUND:
		code, reason = codes.NotFound, wire.ErrorReason_NOT_FOUND
	case pb.ErrorCode_JOB_FINISHED:
		code, reason = codes.FailedPrecondition, wire.ErrorReason_JOB_FINISHED
	case pb.ErrorCode_INVALID:
		code, reason = codes.InvalidArgument, wire.ErrorReason_INVALID
	case pb.ErrorCode_BAD_STATE, pb.ErrorCode_STALE_LAUNCH:
		code, reason = codes.FailedPrecondition, wire.ErrorReason_BAD_STATE
	case pb.ErrorCode_QUOTA_EXCEEDED:
		code, reason = codes.ResourceExhausted, wire.ErrorReason_QUOTA_EXCEEDED
	}
	return rpcError(ctx, code, reason, e.GetMessage())
}

// proposeError maps a failure to commit to the wire: no leader is
// retryable elsewhere; a cancelled caller gets its own error back.
func proposeError(ctx context.Context, err error) error {
	var gate *versionGateError
	var limit *LimitError
	switch {
	case errors.As(err, &limit):
		return limitRPCError(ctx, err)
	case errors.As(err, &gate):
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, err.Error())
	case errors.Is(err, ErrNoLeader):
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func invalid(ctx context.Context, msg string) error {
	return rpcError(ctx, codes.InvalidArgument, wire.ErrorReason_INVALID, msg)
}
