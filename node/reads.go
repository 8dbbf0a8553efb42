package node

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// maxMsg bounds API messages (program bundles, batches of values).
const maxMsg = 64 << 20

// linearizable makes a read see every write acknowledged before it began
// (read index): the leader notes its commit index, confirms it is still
// leader with a quorum, and waits until its FSM has applied that index.
// A leader whose barrier has not applied yet refuses: its FSM may still
// lack entries of earlier terms.
func (n *Node) linearizable(ctx context.Context) error {
	if !n.ready() {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER,
			"node "+n.cfg.NodeID+" is not a ready leader (leader: "+n.leaderAPIAddr()+"); retry, or read with --stale")
	}
	idx := n.raft.CommitIndex()
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, "leadership not confirmed by a quorum: "+err.Error())
	}
	for n.raft.AppliedIndex() < idx {
		changed := n.replica.changed.wait()
		if n.raft.AppliedIndex() >= idx {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// read checks consistency for a read request: stale reads are served by
// this node's replica, others must be linearizable on the leader.
func (n *Node) read(ctx context.Context, stale bool) error {
	if stale {
		return nil
	}
	return n.linearizable(ctx)
}

// ready says whether this node is leader and its barrier has applied.
func (n *Node) ready() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.leaderCancel != nil && n.isLeader()
}

// clientDialOptions are used to reach other nodes' APIs: with Certs, over
// TLS showing this node's certificate (so the other node knows a peer
// calls) and accepting only a node certificate naming the host dialed.
func (n *Node) clientDialOptions() []grpc.DialOption {
	if n.peerCreds == nil {
		return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	return []grpc.DialOption{grpc.WithTransportCredentials(n.peerCreds)}
}
