package fsm

import (
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// The member table maps node ids to their Raft and API addresses. Raft's
// own configuration knows only Raft addresses; this table lets any node
// name the leader's API address and lets workers know every node.

func (m *Machine) setNode(s *pb.SetNode) *pb.Result {
	if s.GetNodeId() == "" || s.GetApiAddr() == "" || s.GetRaftAddr() == "" {
		return fail(pb.ErrorCode_INVALID, "a cluster member needs an id, a Raft address and an API address")
	}
	// A member that re-registers (new addresses, a rejoin) stays drained.
	drained := m.nodes[s.GetNodeId()].GetDrained()
	m.nodes[s.GetNodeId()] = &pb.Node{Id: s.GetNodeId(), RaftAddr: s.GetRaftAddr(), ApiAddr: s.GetApiAddr(), Drained: drained}
	return &pb.Result{}
}

// setDrain keeps a member off leadership (or lets it lead again). Only the
// flag is replicated; the leader acts on it (node/drain.go).
func (m *Machine) setDrain(s *pb.SetDrain) *pb.Result {
	n := m.nodes[s.GetNodeId()]
	if n == nil {
		return fail(pb.ErrorCode_NOT_FOUND, "node %q is not in the member table", s.GetNodeId())
	}
	n.Drained = s.GetDrained()
	return &pb.Result{}
}

func (m *Machine) removeNode(r *pb.RemoveNode) *pb.Result {
	delete(m.nodes, r.GetNodeId())
	return &pb.Result{}
}

// Nodes lists the member table by id.
func (m *Machine) Nodes() []*pb.Node {
	ids := make([]string, 0, len(m.nodes))
	for id := range m.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*pb.Node, len(ids))
	for i, id := range ids {
		out[i] = proto.Clone(m.nodes[id]).(*pb.Node)
	}
	return out
}

// Node returns one member, or nil.
func (m *Machine) Node(id string) *pb.Node {
	if n := m.nodes[id]; n != nil {
		return proto.Clone(n).(*pb.Node)
	}
	return nil
}

func (m *Machine) initCluster(c *pb.InitCluster) *pb.Result {
	switch {
	case c.GetClusterId() == "":
		return fail(pb.ErrorCode_INVALID, "a cluster id cannot be empty")
	case m.clusterID == "":
		m.clusterID = c.GetClusterId()
		m.keys.legacy = c.GetKey()
	case m.clusterID != c.GetClusterId():
		return fail(pb.ErrorCode_INVALID, "the cluster is %s already, not %s", m.clusterID, c.GetClusterId())
	}
	return &pb.Result{}
}

// ClusterID is the cluster's name ("" before the first leader set it).
func (m *Machine) ClusterID() string { return m.clusterID }

// setStore records the cluster's checkpoint store. Which node may change
// it, and when, is the leader's rule (node/store.go); the FSM keeps it.
func (m *Machine) setStore(s *pb.SetStore) *pb.Result {
	if s.GetStore() == "" {
		return fail(pb.ErrorCode_INVALID, "the cluster's checkpoint store cannot be empty")
	}
	m.store, m.storePerNode = s.GetStore(), s.GetPerNode()
	return &pb.Result{}
}

// Store is the cluster's checkpoint store without secrets ("" before the
// first leader recorded it) and whether it is one node's own directory.
func (m *Machine) Store() (store string, perNode bool) { return m.store, m.storePerNode }
