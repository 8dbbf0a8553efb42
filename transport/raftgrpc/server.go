package raftgrpc

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// ServerOptions are what a gRPC server needs to serve this transport: the
// message size limit and, with Config.TLS, the server credentials. Pass
// them to grpc.NewServer before Register.
func (t *Transport) ServerOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(t.cfg.MaxMsgSize),
		grpc.MaxSendMsgSize(t.cfg.MaxMsgSize),
	}
	if t.cfg.serverTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(t.cfg.serverTLS)))
	}
	return opts
}

// Register serves the RaftTransport service on a caller-owned server (made
// with ServerOptions). The caller starts and stops that server; after Close
// the service answers Unavailable.
func (t *Transport) Register(s grpc.ServiceRegistrar) {
	pb.RegisterRaftTransportServer(s, &service{t: t})
}

// Listen binds addr and serves on it in the background until Close.
func (t *Transport) Listen(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	server, err := t.ownServer()
	if err != nil {
		_ = lis.Close()
		return err
	}
	err = t.goTracked(func() {
		if err := server.Serve(lis); err != nil {
			t.cfg.Logger.Error("raft transport stopped serving", "addr", lis.Addr().String(), "err", err)
		}
	})
	if err != nil {
		_ = lis.Close()
	}
	return err
}

// Serve serves on lis until Close (then it returns nil) or a listener error.
func (t *Transport) Serve(lis net.Listener) error {
	server, err := t.ownServer()
	if err != nil {
		_ = lis.Close()
		return err
	}
	return server.Serve(lis)
}

// ownServer returns the transport's own gRPC server, made on first use.
func (t *Transport) ownServer() (*grpc.Server, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, raft.ErrTransportShutdown
	}
	if t.server == nil {
		// Waiting for handlers makes Close return only once they are gone;
		// they end promptly since the transport's context is cancelled first.
		t.server = grpc.NewServer(append(t.ServerOptions(), grpc.WaitForHandlers(true))...)
		t.Register(t.server)
	}
	return t.server, nil
}

// service turns peers' gRPC calls into raft.RPCs.
type service struct {
	pb.UnimplementedRaftTransportServer
	t *Transport
}

// submit hands cmd to raft: heartbeats straight to the heartbeat handler,
// everything else through Consumer. raft answers on the returned channel.
func (t *Transport) submit(ctx context.Context, cmd any, body io.Reader) (<-chan raft.RPCResponse, error) {
	respCh := make(chan raft.RPCResponse, 1)
	rpc := raft.RPC{Command: cmd, Reader: body, RespChan: respCh}
	if req, ok := cmd.(*raft.AppendEntriesRequest); ok && isHeartbeat(req) {
		if fn := t.heartbeatHandler(req.Term); fn != nil {
			fn(rpc)
			return respCh, nil
		}
	}
	select {
	case t.consumeCh <- rpc:
		return respCh, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.ctx.Done():
		return nil, t.errShutdown()
	}
}

// await waits for raft's answer and checks it is a *Resp.
func await[Resp any](t *Transport, ctx context.Context, respCh <-chan raft.RPCResponse) (*Resp, error) {
	select {
	case r := <-respCh:
		if r.Error != nil {
			return nil, errFromRaft(r.Error)
		}
		resp, ok := r.Response.(*Resp)
		if !ok {
			return nil, status.Errorf(codes.Internal, "raft answered with %T", r.Response)
		}
		return resp, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.ctx.Done():
		return nil, t.errShutdown()
	}
}

// serveUnary runs cmd through raft and converts raft's answer for the wire.
func serveUnary[Cmd, Resp, Out any](t *Transport, ctx context.Context, cmd *Cmd, convert func(*Resp) *Out) (*Out, error) {
	respCh, err := t.submit(ctx, cmd, nil)
	if err != nil {
		return nil, err
	}
	resp, err := await[Resp](t, ctx, respCh)
	if err != nil {
		return nil, err
	}
	return convert(resp), nil
}

func (s *service) AppendEntries(ctx context.Context, m *pb.AppendEntriesRequest) (*pb.AppendEntriesResponse, error) {
	if err := s.admit(ctx, "AppendEntries", m.GetHeader()); err != nil {
		return nil, err
	}
	return serveUnary(s.t, ctx, appendEntriesRequestFromProto(m), appendEntriesResponseToProto)
}

func (s *service) RequestVote(ctx context.Context, m *pb.RequestVoteRequest) (*pb.RequestVoteResponse, error) {
	if err := s.admit(ctx, "RequestVote", m.GetHeader()); err != nil {
		return nil, err
	}
	return serveUnary(s.t, ctx, requestVoteRequestFromProto(m), requestVoteResponseToProto)
}

func (s *service) RequestPreVote(ctx context.Context, m *pb.RequestPreVoteRequest) (*pb.RequestPreVoteResponse, error) {
	if err := s.admit(ctx, "RequestPreVote", m.GetHeader()); err != nil {
		return nil, err
	}
	return serveUnary(s.t, ctx, requestPreVoteRequestFromProto(m), requestPreVoteResponseToProto)
}

func (s *service) TimeoutNow(ctx context.Context, m *pb.TimeoutNowRequest) (*pb.TimeoutNowResponse, error) {
	if err := s.admit(ctx, "TimeoutNow", m.GetHeader()); err != nil {
		return nil, err
	}
	return serveUnary(s.t, ctx, timeoutNowRequestFromProto(m), timeoutNowResponseToProto)
}

// AppendEntriesPipeline answers each request in turn, in order. The
// pipelining is on the leader's side: it sends the next requests while
// these are processed, so transit overlaps with the follower's disk writes.
func (s *service) AppendEntriesPipeline(stream pb.RaftTransport_AppendEntriesPipelineServer) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.admit(stream.Context(), "AppendEntries", m.GetHeader()); err != nil {
			return err
		}
		resp, err := serveUnary(s.t, stream.Context(), appendEntriesRequestFromProto(m), appendEntriesResponseToProto)
		if err != nil {
			return err
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
