package raftgrpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Causes an RPCError wraps besides raft.ErrTransportShutdown (this
// transport is closed), raft.ErrPipelineShutdown (raft closed the pipeline)
// and context.DeadlineExceeded (no answer in time).
var (
	// ErrUnreachable: no connection to the peer, or it broke, or the peer's
	// transport is shut down.
	ErrUnreachable = errors.New("peer unreachable")
	// ErrRejected: the peer's raft answered the RPC with an error.
	ErrRejected = errors.New("peer's raft refused the RPC")
)

// RPCError is the error of every call this transport makes: which RPC, to
// which peer, and why.
type RPCError struct {
	RPC    string
	Target raft.ServerAddress
	Err    error
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("raft %s to %s: %v", e.RPC, e.Target, e.Err)
}

func (e *RPCError) Unwrap() error { return e.Err }

// rpcError names the RPC and target of a failed call and turns gRPC's
// status into one of the causes above.
func (t *Transport) rpcError(rpc string, target raft.ServerAddress, timeout time.Duration, err error) error {
	return &RPCError{RPC: rpc, Target: target, Err: t.cause(err, timeout)}
}

func (t *Transport) cause(err error, timeout time.Duration) error {
	if t.ctx.Err() != nil {
		return raft.ErrTransportShutdown
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return fmt.Errorf("no answer within %s: %w", timeout.Round(time.Millisecond), context.DeadlineExceeded)
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrUnreachable, st.Message())
	case codes.FailedPrecondition:
		return fmt.Errorf("%w: %s", ErrRejected, st.Message())
	case codes.ResourceExhausted:
		// raft would resend the same batch forever: say which limit it hits.
		return fmt.Errorf("message over the size limit (MaxMsgSize is %d bytes on this side; raft's MaxAppendEntries times the largest entry must fit): %s",
			t.cfg.MaxMsgSize, st.Message())
	default:
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
}

// Server side: how an RPC that raft did not answer ends.

func (t *Transport) errShutdown() error {
	return status.Errorf(codes.Unavailable, "raft transport at %s is shut down", t.cfg.LocalAddr)
}

func errFromRaft(err error) error {
	return status.Error(codes.FailedPrecondition, err.Error())
}
