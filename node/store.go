package node

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// One store per cluster. Every node and every lambda must see the same
// checkpoint store: a new leader resumes tasks from checkpoints another
// node's lambdas wrote. The first leader records the store's identity (its
// URL without secrets, checkpoint.Identity) in the replicated state; a
// node configured with another store is refused when it joins and stops
// when it finds out at start. A node's own default store (a directory in
// its data dir) is recorded as per node: such a cluster may not get a
// second voter. A cluster with one voter may change its store (the node
// restarted with another --store): the leader records the new one.

const storeDoc = `docs/operations.md, "One store per cluster"`

// clusterStore is the store the cluster uses: the recorded one, or this
// leader's own until it is recorded.
func (n *Node) clusterStore() (store string, perNode bool) {
	n.replica.read(func(m *fsm.Machine) { store, perNode = m.Store() })
	if store == "" {
		return n.storeID, n.cfg.PerNodeStore
	}
	return store, perNode
}

// checkJoinerStore refuses to add a voter that would not see the
// cluster's checkpoints. The joining node is asked which store it uses (it
// serves its API before it joins, whoever asked for the join).
func (n *Node) checkJoinerStore(ctx context.Context, req *wire.JoinRequest) error {
	store, perNode := n.clusterStore()
	if perNode {
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"cannot add node %q: this cluster keeps its checkpoints in one node's own data dir (%s, the default without --store), "+
				"which a second voter cannot see; restart the cluster's node with a --store every node shares (a shared directory or Redis), "+
				"then start %q with the same --store (%s)", req.GetNodeId(), store, req.GetNodeId(), storeDoc))
	}
	conn, err := n.forwarder.conn(req.GetApiAddr())
	if err != nil {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, err.Error())
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := wire.NewClientServiceClient(conn).ClusterStatus(sctx, &wire.ClusterStatusRequest{})
	switch {
	case err != nil:
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, fmt.Sprintf(
			"cannot ask node %q at %s which checkpoint store it uses: %v", req.GetNodeId(), req.GetApiAddr(), err))
	case st.GetStore() == "":
		// A build from before stores were compared: it cannot say.
		return nil
	case st.GetPerNodeStore():
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"node %q keeps its checkpoints in its own data dir (%s, the default without --store), which the other nodes cannot see: "+
				"start it with the cluster's store, --store naming %s (%s)", req.GetNodeId(), st.GetStore(), store, storeDoc))
	case st.GetStore() != store:
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"node %q uses the checkpoint store %s, but the cluster uses %s: every node must use the same store; "+
				"start it with --store naming %s (%s)", req.GetNodeId(), st.GetStore(), store, store, storeDoc))
	}
	return nil
}

// watchStore stops this node when the cluster records a store other than
// its own (a node restarted with another --store): running on, its
// leadership would resume no task and its lambdas would write checkpoints
// no other node sees. A sole voter may change the cluster's store instead.
func (n *Node) watchStore() {
	for {
		changed := n.replica.changed.wait()
		var store string
		n.replica.read(func(m *fsm.Machine) { store, _ = m.Store() })
		if store != "" && store != n.storeID && !n.soleVoter() {
			n.halt(fmt.Errorf("this node's checkpoint store is %s, but the cluster's is %s: every node must use the cluster's store; "+
				"restart it with --store naming %s (%s)", n.storeID, store, store, storeDoc))
			return
		}
		if store == n.storeID {
			// Only a sole voter changes a recorded store: this node, then.
			return
		}
		select {
		case <-n.done:
			return
		case <-changed:
		}
	}
}

// soleVoter says whether this node is the only voter of its configuration
// (a new cluster: it needs to ask no one for versions; a per-node store is
// allowed).
func (n *Node) soleVoter() bool {
	cfg, err := n.configuration()
	if err != nil {
		return false
	}
	voters, self := 0, false
	for _, s := range cfg.Servers {
		if s.Suffrage == raft.Voter {
			voters++
			self = self || string(s.ID) == n.cfg.NodeID
		}
	}
	return voters == 1 && self
}

// storeWatch records the cluster's store once every voter knows the
// command (a new cluster: within one version check of its start).
func (n *Node) storeWatch(ctx context.Context) {
	try := func() {
		if _, err := n.recordStore(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("cannot record the cluster's checkpoint store yet", "err", err)
		}
	}
	try()
	every(ctx, time.Second, try)
}

// recordStore commits this leader's store as the cluster's when none is
// recorded, or when this node is the only voter and its store changed.
// It reports whether the recorded store is this node's afterwards.
func (n *Node) recordStore(ctx context.Context) (bool, error) {
	var store string
	var perNode bool
	var version uint32
	n.replica.read(func(m *fsm.Machine) { store, perNode = m.Store(); version = m.ClusterVersion() })
	switch {
	case store == n.storeID && perNode == n.cfg.PerNodeStore:
		return true, nil
	case store != "" && !n.soleVoter():
		return false, nil // watchStore stops a node with another store
	case version < fsm.RequiredVersion(&pb.Command{Op: &pb.Command_SetStore{}}):
		return false, nil // an old voter: the join check uses this leader's own store
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.Raft.ApplyTimeout)
	defer cancel()
	if _, err := n.commit(cctx, &pb.Command{Op: &pb.Command_SetStore{SetStore: &pb.SetStore{Store: n.storeID, PerNode: n.cfg.PerNodeStore}}}); err != nil {
		return false, err
	}
	if store == "" {
		n.log.Info("recorded the cluster's checkpoint store", "store", n.storeID, "per_node", n.cfg.PerNodeStore)
	} else {
		n.log.Warn("the cluster's only voter changed its checkpoint store", "from", store, "to", n.storeID)
	}
	return true, nil
}
