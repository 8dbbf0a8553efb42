package node

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/logging"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// forwardedKey marks a request one node forwarded to another, so a request
// that reaches a non-leader twice is refused instead of bouncing.
const forwardedKey = "kappa-forwarded"

// localMethods are answered by whichever node gets them.
var localMethods = map[string]bool{
	wire.ClientService_ClusterStatus_FullMethodName:  true,
	wire.ClientService_InvocationLogs_FullMethodName: true, // each node's own ring
	wire.ClientService_WatchJob_FullMethodName:       true, // a stream, from this replica
	healthpb.Health_Check_FullMethodName:             true, // each node's own readiness
	wire.DrillService_InjectFault_FullMethodName:     true, // the drill picks the node
	wire.DrillService_Probe_FullMethodName:           true,
}

// forwarded says whether a follower sends the call to the leader (else
// it answers from its own replica).
func forwarded(method string, req any) bool {
	return !localMethods[method] && !isStale(req)
}

// forwarder is a unary interceptor: on a follower it sends every call that
// must be answered by the leader (writes, task calls, linearizable reads)
// to the leader, and relays the answer with its trailers. Any node can be
// given to workers and clients.
type forwarder struct {
	n     *Node
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func newForwarder(n *Node) *forwarder { return &forwarder{n: n, conns: map[string]*grpc.ClientConn{}} }

func (f *forwarder) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if !forwarded(info.FullMethod, req) {
		return h(ctx, req)
	}
	if f.n.isLeader() {
		if mustForward(ctx) {
			// Authorization left this call to the leader while this node
			// was a follower; it has just become leader: judge it afresh.
			return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER,
				fmt.Sprintf("node %s became leader during the call; retry", f.n.cfg.NodeID))
		}
		return h(ctx, req)
	}
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(forwardedKey)) > 0 {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER,
			fmt.Sprintf("node %s is not the leader either (leader: %s); retry", f.n.cfg.NodeID, f.n.leaderAPIAddr()))
	}
	addr, err := f.n.leaderAPI()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	resp, err := newResponse(info.FullMethod)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	conn, err := f.conn(addr)
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	var trailer metadata.MD
	out := metadata.AppendToOutgoingContext(ctx, append([]string{forwardedKey, f.n.cfg.NodeID, requestIDHeader, logging.RequestID(ctx)}, f.n.authz.forwardMetadata(ctx)...)...)
	err = conn.Invoke(out, info.FullMethod, req, resp, grpc.Trailer(&trailer))
	if len(trailer) > 0 {
		_ = grpc.SetTrailer(ctx, trailer)
	}
	if err != nil {
		if s, ok := status.FromError(err); ok && s.Code() == codes.Unavailable && len(trailer.Get(reasonKey)) == 0 {
			return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER,
				fmt.Sprintf("the leader at %s cannot be reached from %s: %s", addr, f.n.cfg.NodeID, s.Message()))
		}
		return nil, err
	}
	return resp, nil
}

func isStale(req any) bool {
	s, ok := req.(interface{ GetStale() bool })
	return ok && s.GetStale()
}

// newResponse makes an empty response message for a method, from the
// protobuf registry, so one interceptor can forward every method.
func newResponse(fullMethod string) (proto.Message, error) {
	parts := strings.Split(strings.TrimPrefix(fullMethod, "/"), "/")
	if len(parts) != 2 {
		return nil, fmt.Errorf("forward: malformed method %q", fullMethod)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(parts[0]))
	if err != nil {
		return nil, fmt.Errorf("forward: unknown service %s: %w", parts[0], err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("forward: %s is not a service", parts[0])
	}
	md := sd.Methods().ByName(protoreflect.Name(parts[1]))
	if md == nil {
		return nil, fmt.Errorf("forward: unknown method %s", fullMethod)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, fmt.Errorf("forward: response type of %s: %w", fullMethod, err)
	}
	return mt.New().Interface(), nil
}

func (f *forwarder) conn(addr string) (*grpc.ClientConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conns[addr]; c != nil {
		return c, nil
	}
	c, err := grpc.NewClient(addr, append(f.n.clientDialOptions(), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))...)
	if err != nil {
		return nil, fmt.Errorf("forward: connecting to the leader at %s: %w", addr, err)
	}
	f.conns[addr] = c
	return c, nil
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = map[string]*grpc.ClientConn{}
}

// leaderAPI names the current leader's API address from the member table.
func (n *Node) leaderAPI() (string, error) {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return "", fmt.Errorf("node %s knows no leader (election in progress or no quorum)", n.cfg.NodeID)
	}
	var addr string
	n.replica.read(func(m *fsm.Machine) {
		if node := m.Node(string(id)); node != nil {
			addr = node.GetApiAddr()
		}
	})
	if addr == "" {
		return "", fmt.Errorf("the leader %s has not published its API address yet", id)
	}
	return addr, nil
}
