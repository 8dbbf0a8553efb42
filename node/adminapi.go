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

// adminAPI serves membership and leadership operations. The forwarder
// sends every call to the leader, which alone may change the configuration.
type adminAPI struct {
	wire.UnimplementedAdminServiceServer
	n *Node
}

func (a *adminAPI) Join(ctx context.Context, req *wire.JoinRequest) (*wire.JoinResponse, error) {
	if req.GetNodeId() == "" || req.GetRaftAddr() == "" || req.GetApiAddr() == "" {
		return nil, invalid(ctx, "join needs the node's id, Raft address and API address")
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	// Identity first: a duplicate id or address is refused before the
	// joiner is asked anything.
	cfg, err := a.n.configuration()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	for _, s := range cfg.Servers {
		sameID, sameAddr := string(s.ID) == req.GetNodeId(), string(s.Address) == req.GetRaftAddr()
		switch {
		case sameID && !sameAddr:
			return nil, rpcError(ctx, codes.AlreadyExists, wire.ErrorReason_INVALID, fmt.Sprintf(
				"node id %q already belongs to the member at %s; remove it first (kappa cluster remove %s) or pick another id", s.ID, s.Address, s.ID))
		case sameAddr && !sameID:
			return nil, rpcError(ctx, codes.AlreadyExists, wire.ErrorReason_INVALID, fmt.Sprintf(
				"Raft address %s already belongs to member %q; a node keeps its id across restarts", s.Address, s.ID))
		}
	}
	version, keys := req.GetCommandVersion(), req.GetKeys()
	if len(keys) == 0 {
		// An admin adding a node that waits (--wait-join) knows neither
		// its build nor its key file: ask the node itself.
		st, err := a.n.joinerStatus(ctx, req.GetNodeId(), req.GetApiAddr())
		if err != nil {
			return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, err.Error())
		}
		version, keys = max(version, st.GetVersion().GetCommandVersion()), st.GetKeys()
	}
	var clusterVersion uint32
	a.n.replica.read(func(m *fsm.Machine) { clusterVersion = m.ClusterVersion() })
	if v := max(version, 1); v < clusterVersion {
		return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"node %q applies command version %d, but the cluster runs version %d: upgrade its kappa binary before it joins (docs/upgrade.md)",
			req.GetNodeId(), v, clusterVersion))
	}
	if err := a.n.checkJoinerKeys(req.GetNodeId(), keys); err != nil {
		return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, err.Error())
	}
	if err := a.n.checkJoinerStore(ctx, req); err != nil {
		return nil, err
	}
	// AddVoter is idempotent for a member already in the configuration.
	if err := a.n.raft.AddVoter(raft.ServerID(req.GetNodeId()), raft.ServerAddress(req.GetRaftAddr()), 0, a.n.cfg.Raft.ApplyTimeout).Error(); err != nil {
		return nil, proposeError(ctx, applyError(err))
	}
	if _, err := a.n.commit(ctx, &pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{
		NodeId: req.GetNodeId(), RaftAddr: req.GetRaftAddr(), ApiAddr: req.GetApiAddr()}}}); err != nil {
		return nil, err
	}
	a.n.log.InfoContext(ctx, "node joined", "id", req.GetNodeId(), "raft", req.GetRaftAddr(), "api", req.GetApiAddr())
	return &wire.JoinResponse{LeaderId: a.n.cfg.NodeID}, nil
}

func (a *adminAPI) Remove(ctx context.Context, req *wire.RemoveRequest) (*wire.RemoveResponse, error) {
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	cfg, err := a.n.configuration()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	found := false
	for _, s := range cfg.Servers {
		found = found || string(s.ID) == req.GetNodeId()
	}
	if !found {
		return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, fmt.Sprintf("node %q is not a member of the cluster", req.GetNodeId()))
	}
	if err := a.n.removeMember(ctx, req.GetNodeId()); err != nil {
		return nil, err
	}
	a.n.log.InfoContext(ctx, "node removed", "id", req.GetNodeId())
	return &wire.RemoveResponse{}, nil
}

// removeMember takes a member out of the member table and the Raft
// configuration.
func (n *Node) removeMember(ctx context.Context, id string) error {
	if _, err := n.commit(ctx, &pb.Command{Op: &pb.Command_RemoveNode{RemoveNode: &pb.RemoveNode{NodeId: id}}}); err != nil {
		return err
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.Raft.ApplyTimeout).Error(); err != nil {
		return proposeError(ctx, applyError(err))
	}
	return nil
}

func (a *adminAPI) TransferLeader(ctx context.Context, req *wire.TransferLeaderRequest) (*wire.TransferLeaderResponse, error) {
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	cfg, err := a.n.configuration()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	transfer := a.n.successorTransfer(cfg) // not to a drained node
	if to := req.GetToId(); to != "" {
		addr := ""
		for _, s := range cfg.Servers {
			if string(s.ID) == to {
				addr = string(s.Address)
			}
		}
		if addr == "" {
			return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, fmt.Sprintf("node %q is not a member of the cluster", to))
		}
		transfer = func() raft.Future {
			return a.n.raft.LeadershipTransferToServer(raft.ServerID(to), raft.ServerAddress(addr))
		}
	}
	if err := a.n.handOff(ctx, transfer); err != nil {
		return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, "leadership transfer failed: "+err.Error())
	}
	return &wire.TransferLeaderResponse{LeaderId: a.n.awaitUndrainedLeader(ctx), ToDrained: req.GetToId() != "" && a.n.isDrained(req.GetToId())}, nil
}

// awaitUndrainedLeader waits, after leadership left this node, until a
// leader that is not drained is known here, and returns it ("" if none was
// heard of in time). A drained node given leadership hands it on at once,
// possibly back to this node, so the first leader heard of may not be the
// one that keeps it. The wait ends before the caller's deadline, so the
// answer reaches it.
func (n *Node) awaitUndrainedLeader(ctx context.Context) string {
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Add(-250*time.Millisecond).Before(deadline) {
		deadline = d.Add(-250 * time.Millisecond)
	}
	for {
		leader := n.knownLeader()
		if leader != "" && !n.isDrained(leader) {
			return leader
		}
		if time.Now().After(deadline) {
			return ""
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (a *adminAPI) Members(ctx context.Context, _ *wire.MembersRequest) (*wire.MembersResponse, error) {
	cfg, err := a.n.configuration()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	_, leader := a.n.raft.LeaderWithID()
	out := &wire.MembersResponse{LeaderId: string(leader), Term: a.n.raft.CurrentTerm()}
	a.n.replica.read(func(m *fsm.Machine) {
		for _, s := range cfg.Servers {
			mem := &wire.Member{NodeId: string(s.ID), RaftAddr: string(s.Address), Voter: s.Suffrage == raft.Voter, Leader: s.ID == leader}
			if node := m.Node(string(s.ID)); node != nil {
				mem.ApiAddr, mem.Drained = node.GetApiAddr(), node.GetDrained()
			}
			out.Members = append(out.Members, mem)
		}
	})
	return out, nil
}

func (n *Node) configuration() (raft.Configuration, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, fmt.Errorf("reading the cluster configuration: %w", err)
	}
	return f.Configuration(), nil
}

// handOff moves the on-coordinator tasks off this node, then transfers
// leadership.
func (n *Node) handOff(ctx context.Context, transfer func() raft.Future) error {
	n.drainCoordinatorTasks(ctx)
	defer n.draining.Store(false)
	return transfer().Error()
}

// drainCoordinatorTasks asks the tasks running on this node (on-coordinator
// tasks) to checkpoint and yield, through their heartbeats, and waits a
// bounded time for them to do so: a planned transfer loses no work.
func (n *Node) drainCoordinatorTasks(ctx context.Context) {
	running := func() int {
		count := 0
		n.replica.read(func(m *fsm.Machine) {
			for _, k := range m.Claimed() {
				if m.Task(k).GetOnCoordinator() {
					count++
				}
			}
		})
		return count
	}
	if running() == 0 {
		return
	}
	n.draining.Store(true)
	deadline := time.Now().Add(3*n.cfg.Worker.HeartbeatInterval + 5*time.Second)
	for running() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}
