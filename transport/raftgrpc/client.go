package raftgrpc

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"google.golang.org/grpc"
)

// unaryMethod is a method expression of the generated client, such as
// pb.RaftTransportClient.RequestVote.
type unaryMethod[Req, Resp any] func(pb.RaftTransportClient, context.Context, *Req, ...grpc.CallOption) (*Resp, error)

// callUnary sends req to target within timeout and converts the answer
// into out.
func callUnary[Req, Resp, Out any](t *Transport, rpc string, target raft.ServerAddress, timeout time.Duration,
	method unaryMethod[Req, Resp], req *Req, convert func(*Resp) Out, out *Out) error {
	conn, err := t.conns.get(target)
	if err != nil {
		return t.rpcError(rpc, target, timeout, err)
	}
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	resp, err := method(pb.NewRaftTransportClient(conn), ctx, req)
	if err != nil {
		return t.rpcError(rpc, target, timeout, err)
	}
	*out = convert(resp)
	return nil
}

// AppendEntries sends one AppendEntries, or a heartbeat with the shorter
// HeartbeatTimeout deadline.
func (t *Transport) AppendEntries(_ raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	rpc, timeout := "AppendEntries", t.cfg.Timeout
	if isHeartbeat(args) {
		rpc, timeout = heartbeatRPC, t.cfg.HeartbeatTimeout
	}
	err := callUnary(t, rpc, target, timeout, pb.RaftTransportClient.AppendEntries,
		appendEntriesRequestToProto(args), appendEntriesResponseFromProto, resp)
	if err == nil {
		t.replication.note(target, resp)
	}
	return err
}

func (t *Transport) RequestVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	return callUnary(t, "RequestVote", target, t.cfg.Timeout, pb.RaftTransportClient.RequestVote,
		requestVoteRequestToProto(args), requestVoteResponseFromProto, resp)
}

// RequestPreVote makes the transport a raft.WithPreVote: without it raft
// silently runs elections without pre-vote.
func (t *Transport) RequestPreVote(_ raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	return callUnary(t, "RequestPreVote", target, t.cfg.Timeout, pb.RaftTransportClient.RequestPreVote,
		requestPreVoteRequestToProto(args), requestPreVoteResponseFromProto, resp)
}

func (t *Transport) TimeoutNow(_ raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	return callUnary(t, "TimeoutNow", target, t.cfg.Timeout, pb.RaftTransportClient.TimeoutNow,
		timeoutNowRequestToProto(args), timeoutNowResponseFromProto, resp)
}
