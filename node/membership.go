package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// clusterIDFile remembers, in the data dir, which cluster the dir belongs
// to, so it is never joined to another one.
const clusterIDFile = "cluster-id"

var errOtherCluster = errors.New("node: refusing to join")

// join asks a member of an existing cluster (any node: the request is
// forwarded to the leader) to add this node as a voter. A node restarted
// with its data dir is a member already: it only checks that the dir
// belongs to that cluster.
func (n *Node) join(target string) error {
	joinTimeout := n.cfg.JoinTimeout
	conn, err := grpc.NewClient(target, n.clientDialOptions()...)
	if err != nil {
		return fmt.Errorf("node: --join %s: %w", target, err)
	}
	defer conn.Close()
	if n.hadState {
		// Already a member: the target may well be down too (a whole
		// cluster restarting), so a short check that does not block.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := n.checkSameCluster(ctx, wire.NewClientServiceClient(conn), target)
		if errors.Is(err, errOtherCluster) {
			return err
		}
		if err != nil {
			n.log.Warn("could not confirm the cluster of this data dir; starting as a member anyway", "join", target, "err", err)
		}
		return nil
	}
	if !n.authz.certs && n.authz.tokens.enabled() {
		// Joining is an admin's call; without a node certificate this node
		// cannot prove it is one of the cluster's nodes.
		return fmt.Errorf("node: --join %s needs TLS (a node certificate) on a cluster that admits tokens: start this node with --wait-join and add it with `kappa cluster join %s --raft-addr %s --api-addr %s` and an admin token",
			target, n.cfg.NodeID, n.trans.LocalAddr(), n.APIAddr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	if err := n.checkSameCluster(ctx, wire.NewClientServiceClient(conn), target); err != nil {
		return err
	}
	admin := wire.NewAdminServiceClient(conn)
	keys, err := n.keyFingerprints()
	if err != nil {
		return err
	}
	req := &wire.JoinRequest{NodeId: n.cfg.NodeID, RaftAddr: string(n.trans.LocalAddr()), ApiAddr: n.APIAddr(),
		CommandVersion: n.replicaMaxVersion(), Keys: keys}
	delay := 100 * time.Millisecond
	for {
		_, err := admin.Join(ctx, req)
		if err == nil {
			n.log.Info("joined the cluster", "via", target)
			return nil
		}
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
			return fmt.Errorf("node: cannot join the cluster at %s: %s", target, status.Convert(err).Message())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: cannot join the cluster at %s within %s: %s (is the address right and the cluster up with a leader?)",
				target, joinTimeout, status.Convert(err).Message())
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// checkSameCluster refuses to join a data dir that already belongs to
// another cluster.
func (n *Node) checkSameCluster(ctx context.Context, c wire.ClientServiceClient, target string) error {
	mine := n.savedClusterID()
	if mine == "" {
		return nil
	}
	for {
		st, err := c.ClusterStatus(ctx, &wire.ClusterStatusRequest{})
		if err == nil {
			if st.GetClusterId() != "" && st.GetClusterId() != mine {
				return fmt.Errorf("%w: data dir %s belongs to cluster %s, but the cluster at %s is %s; use an empty data dir to join it",
					errOtherCluster, n.cfg.DataDir, mine, target, st.GetClusterId())
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node: no Kappa node answers at --join %s within %s: %s", target, n.cfg.JoinTimeout, status.Convert(err).Message())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *Node) savedClusterID() string {
	b, err := os.ReadFile(filepath.Join(n.cfg.DataDir, clusterIDFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// keepClusterID writes the cluster id into the data dir once the FSM
// knows it, and warns if the dir was another cluster's.
func (n *Node) keepClusterID() {
	saved := n.savedClusterID()
	for {
		changed := n.replica.changed.wait()
		var id string
		n.replica.read(func(m *fsm.Machine) { id = m.ClusterID() })
		switch {
		case id == "":
		case saved == "":
			path := filepath.Join(n.cfg.DataDir, clusterIDFile)
			if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
				n.log.Warn("cannot record the cluster id", "path", path, "err", err)
			}
			return
		case saved != id:
			n.log.Error("this data dir belonged to another cluster", "dir", n.cfg.DataDir, "was", saved, "now", id)
			return
		default:
			return
		}
		select {
		case <-n.done:
			return
		case <-changed:
		}
	}
}

// registerSelf, run by a new leader after its barrier, names the cluster
// (first leader only) and publishes this node's addresses in the member
// table, so followers can forward to it and workers can find it.
func (n *Node) registerSelf(ctx context.Context) error {
	var cluster string
	var self *pb.Node
	n.replica.read(func(m *fsm.Machine) { cluster, self = m.ClusterID(), m.Node(n.cfg.NodeID) })
	if cluster == "" {
		if id := n.savedClusterID(); id != "" {
			cluster = id
		} else {
			cluster = newClusterID()
		}
		init := &pb.InitCluster{ClusterId: cluster}
		var version uint32
		n.replica.read(func(m *fsm.Machine) { version = m.ClusterVersion() })
		if version < keysSince {
			// Voters of an older build seal with a cluster-wide key in the
			// state, as they always did (ensureKeys moves the cluster to the
			// key files once every voter is upgraded).
			init.Key = make([]byte, checkpoint.KeySize)
			if _, err := rand.Read(init.Key); err != nil {
				return fmt.Errorf("no randomness for the cluster key: %w", err)
			}
		}
		if _, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_InitCluster{InitCluster: init}}); err != nil {
			return err
		}
	}
	raftAddr, apiAddr := string(n.trans.LocalAddr()), n.APIAddr()
	if self.GetRaftAddr() == raftAddr && self.GetApiAddr() == apiAddr {
		return nil
	}
	res, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: n.cfg.NodeID, RaftAddr: raftAddr, ApiAddr: apiAddr}}})
	if err == nil && res.GetError() != nil {
		err = errors.New(res.GetError().GetMessage())
	}
	return err
}

func newClusterID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("node: no randomness for a cluster id: " + err.Error())
	}
	return "kappa-" + hex.EncodeToString(b[:])
}

// workerCoordinators lists the API addresses handed to lambdas: the
// configured ones, or every member's (this node first). Workers try them
// in turn, and any of them forwards to the leader.
func (n *Node) workerCoordinators() []string {
	if len(n.cfg.WorkerCoordinators) > 0 {
		return n.cfg.WorkerCoordinators
	}
	addrs := []string{n.APIAddr()}
	n.replica.read(func(m *fsm.Machine) {
		for _, node := range m.Nodes() {
			if a := node.GetApiAddr(); a != "" && a != addrs[0] {
				addrs = append(addrs, a)
			}
		}
	})
	return addrs
}

// lastContactMs: how long since this node heard from the leader (0 on the
// leader, -1 if never).
func (n *Node) lastContactMs() int64 {
	if n.isLeader() {
		return 0
	}
	v := n.raft.Stats()["last_contact"]
	if v == "" || v == "never" {
		return -1
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		if f, ferr := strconv.ParseFloat(v, 64); ferr == nil {
			return int64(math.Round(f))
		}
		return -1
	}
	return d.Milliseconds()
}
