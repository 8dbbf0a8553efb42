package raftgrpc

// What the raft tests count: heartbeats raft's fast-path handler takes, and
// per method the calls and stream messages a node's gRPC server serves.

import (
	"context"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
)

// countingTransport counts what raft's heartbeat handler receives.
type countingTransport struct {
	*Transport
	n *testNode
}

func (c *countingTransport) SetHeartbeatHandler(cb func(raft.RPC)) {
	if cb == nil {
		c.Transport.SetHeartbeatHandler(nil)
		return
	}
	c.Transport.SetHeartbeatHandler(func(rpc raft.RPC) {
		c.n.heartbeats.Add(1)
		cb(rpc)
	})
}

// rpcCounter counts the calls a server takes and the messages its streams
// receive, by method.
type rpcCounter struct {
	mu    sync.Mutex
	calls map[string]int
	msgs  map[string]int
}

func (c *rpcCounter) add(counts *map[string]int, method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *counts == nil {
		*counts = map[string]int{}
	}
	(*counts)[method]++
}

// get returns the calls of a method (a pb.RaftTransport_*_FullMethodName)
// and the stream messages they carried.
func (c *rpcCounter) get(method string) (calls, msgs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method], c.msgs[method]
}

func (c *rpcCounter) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c.add(&c.calls, info.FullMethod)
	return handler(ctx, req)
}

func (c *rpcCounter) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c.add(&c.calls, info.FullMethod)
	return handler(srv, &countingStream{ServerStream: ss, c: c, method: info.FullMethod})
}

type countingStream struct {
	grpc.ServerStream
	c      *rpcCounter
	method string
}

func (s *countingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.c.add(&s.c.msgs, s.method)
	}
	return err
}

// sum adds up a method's calls over nodes.
func sum(nodes []*testNode, method string) int {
	total := 0
	for _, n := range nodes {
		calls, _ := n.rpcs.get(method)
		total += calls
	}
	return total
}
