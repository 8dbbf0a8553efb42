package raftgrpc

// InstallSnapshot, both sides: the leader streams the snapshot in chunks
// after the request; the follower pipes the chunks into raft as they come,
// so neither side ever holds the whole snapshot in memory.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// InstallSnapshot sends args then data to target, with a deadline of
// Timeout plus the time to move args.Size bytes at SnapshotMinRate.
func (t *Transport) InstallSnapshot(_ raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	const rpc = "InstallSnapshot"
	timeout := t.cfg.snapshotTimeout(args.Size)
	conn, err := t.conns.get(target)
	if err != nil {
		return t.rpcError(rpc, target, timeout, err)
	}
	ctx, cancel := context.WithTimeout(t.ctx, timeout)
	defer cancel()
	start := time.Now()
	t.cfg.Logger.Info("sending raft snapshot", "to", target, "index", args.LastLogIndex, "bytes", args.Size, "deadline", timeout.Round(time.Millisecond))
	out, err := t.sendSnapshot(ctx, pb.NewRaftTransportClient(conn), args, data)
	if err != nil {
		return t.rpcError(rpc, target, timeout, err)
	}
	t.cfg.Logger.Info("sent raft snapshot", "to", target, "index", args.LastLogIndex, "success", out.GetSuccess(), "took", time.Since(start))
	*resp = installSnapshotResponseFromProto(out)
	return nil
}

func (t *Transport) sendSnapshot(ctx context.Context, client pb.RaftTransportClient, args *raft.InstallSnapshotRequest, data io.Reader) (*pb.InstallSnapshotResponse, error) {
	stream, err := client.InstallSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	// A failed Send says only io.EOF; the stream's status says why.
	sendFailed := func(err error) (*pb.InstallSnapshotResponse, error) {
		if errors.Is(err, io.EOF) {
			_, err = stream.CloseAndRecv()
		}
		return nil, err
	}
	first := &pb.InstallSnapshotChunk{Part: &pb.InstallSnapshotChunk_Request{Request: installSnapshotRequestToProto(args)}}
	if err := stream.Send(first); err != nil {
		return sendFailed(err)
	}
	// Send marshals before returning, so one buffer serves every chunk.
	buf := make([]byte, t.cfg.SnapshotChunkSize)
	chunk := &pb.InstallSnapshotChunk_Data{}
	msg := &pb.InstallSnapshotChunk{Part: chunk}
	for {
		// What one Read gives goes out at once rather than waiting to fill a chunk.
		n, readErr := data.Read(buf)
		if n > 0 {
			chunk.Data = buf[:n]
			if err := stream.Send(msg); err != nil {
				return sendFailed(err)
			}
		}
		if errors.Is(readErr, io.EOF) {
			break
		}
		if readErr != nil {
			return nil, fmt.Errorf("reading the local snapshot: %w", readErr)
		}
	}
	return stream.CloseAndRecv()
}

// InstallSnapshot hands raft the request with a pipe it reads the snapshot
// from, then feeds the pipe chunk by chunk; a write blocks until raft has
// read the previous chunk.
func (s *service) InstallSnapshot(stream pb.RaftTransport_InstallSnapshotServer) error {
	t := s.t
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	if first.GetRequest() == nil {
		return status.Error(codes.InvalidArgument, "InstallSnapshot: the first message must carry the request")
	}
	if err := s.admit(stream.Context(), "InstallSnapshot", first.GetRequest().GetHeader()); err != nil {
		return err
	}
	req := installSnapshotRequestFromProto(first.GetRequest())
	ctx := stream.Context()
	body, feed := io.Pipe()
	// If the leader goes away or we close, raft's read fails instead of hanging.
	abort := func(why error) {
		_ = feed.CloseWithError(fmt.Errorf("snapshot stream from %s aborted: %w", req.Addr, why))
	}
	defer context.AfterFunc(ctx, func() { abort(context.Cause(ctx)) })()
	defer context.AfterFunc(t.ctx, func() { abort(raft.ErrTransportShutdown) })()

	t.cfg.Logger.Info("receiving raft snapshot", "from", string(req.Addr), "index", req.LastLogIndex, "bytes", req.Size)
	respCh, err := t.submit(ctx, req, body)
	if err != nil {
		return err
	}
	if err := feedSnapshot(stream, feed); err != nil {
		_ = feed.CloseWithError(err)
		return err
	}
	resp, err := await[raft.InstallSnapshotResponse](t, ctx, respCh)
	if err != nil {
		return err
	}
	return stream.SendAndClose(installSnapshotResponseToProto(resp))
}

// feedSnapshot writes the data chunks into feed and closes it at the end of
// the stream.
func feedSnapshot(stream pb.RaftTransport_InstallSnapshotServer, feed *io.PipeWriter) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return feed.Close()
		}
		if err != nil {
			return err
		}
		if m.GetRequest() != nil {
			return status.Error(codes.InvalidArgument, "InstallSnapshot: a second request in the stream")
		}
		if _, err := feed.Write(m.GetData()); err != nil {
			return err
		}
	}
}
