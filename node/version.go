package node

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

var errUnknownMember = errors.New("not in the member table yet")

// Release is this build's semantic version.
const Release = "0.3.0"

// commit is the source revision, set at build time by the Makefile
// (-ldflags -X); else taken from the Go build's VCS stamp when present.
var commit string

// WireVersion is the version of the client, task and admin APIs (the
// kappa.v1 protobuf packages).
const WireVersion = 1

// BuildInfo describes this build: its release, source revision and the
// versions of what it exchanges with other nodes. maxCommand caps the
// command version (0: this build's own), as a node started with
// Config.MaxCommandVersion reports.
func BuildInfo(maxCommand uint32) *wire.VersionInfo {
	v := &wire.VersionInfo{Version: Release, Commit: "unknown", CommandVersion: fsm.CommandVersion,
		SnapshotVersion: fsm.SnapshotVersion, WireVersion: WireVersion}
	if maxCommand > 0 && maxCommand < v.CommandVersion {
		v.CommandVersion = maxCommand
	}
	if commit != "" {
		v.Commit = commit
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			v.Commit = rev + dirty
		}
	}
	return v
}

// versionWatch raises the cluster's command version once every voter
// reports a newer one, so a rolling upgrade turns new command kinds on only
// when the last old voter is gone. It never lowers it (a downgrade below the
// committed version is refused at join and at start).
func (n *Node) versionWatch(ctx context.Context) {
	warned := ""
	every(ctx, 2*time.Second, func() {
		n.raiseClusterVersion(ctx)
		err := n.ensureKeys(ctx)
		if err != nil && err.Error() != warned {
			n.log.Warn("the cluster keeps its previous keys for now", "err", err)
		}
		warned = ""
		if err != nil {
			warned = err.Error()
		}
	})
}

// raiseClusterVersion commits the lowest version every voter reports, if
// it is newer than the cluster's.
func (n *Node) raiseClusterVersion(ctx context.Context) {
	lowest, ok := n.lowestVoterVersion(ctx)
	current := n.clusterVersion()
	if !ok || lowest <= current {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.Raft.ApplyTimeout)
	defer cancel()
	if _, err := n.commit(cctx, &pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: lowest}}}); err != nil {
		n.log.Warn("cannot raise the cluster's command version", "to", lowest, "err", err)
		return
	}
	n.log.Info("every voter supports a newer command version; the cluster uses it now", "from", current, "to", lowest)
}

// lowestVoterVersion asks every voter which command version it applies.
// ok is false when some voter did not answer: an unknown voter may be old.
func (n *Node) lowestVoterVersion(ctx context.Context) (uint32, bool) {
	cfg := n.raft.GetConfiguration()
	if cfg.Error() != nil {
		return 0, false
	}
	lowest := n.replicaMaxVersion()
	for _, s := range cfg.Configuration().Servers {
		if s.Suffrage != raft.Voter || string(s.ID) == n.cfg.NodeID {
			continue
		}
		v, err := n.peerCommandVersion(ctx, string(s.ID))
		if err != nil {
			return 0, false
		}
		lowest = min(lowest, v)
	}
	return lowest, true
}

// clusterVersion is the command version every voter supports, as this
// node's replica knows it: what the leader may use.
func (n *Node) clusterVersion() (v uint32) {
	n.replica.read(func(m *fsm.Machine) { v = m.ClusterVersion() })
	return v
}

func (n *Node) replicaMaxVersion() uint32 {
	var v uint32
	n.replica.read(func(m *fsm.Machine) { v = m.MaxVersion() })
	return v
}

// peerCommandVersion asks one member's API for its build (0 or absent: a
// build from before versions, i.e. 1).
func (n *Node) peerCommandVersion(ctx context.Context, id string) (uint32, error) {
	st, err := n.peerStatus(ctx, id)
	if err != nil {
		return 0, err
	}
	return max(st.GetVersion().GetCommandVersion(), 1), nil
}

// joinerStatus asks a node that is not a member yet, at its API address,
// for its own status (its build, the keys its key file holds).
func (n *Node) joinerStatus(ctx context.Context, id, apiAddr string) (*wire.ClusterStatusResponse, error) {
	conn, err := n.forwarder.conn(apiAddr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach node %q at %s: %w", id, apiAddr, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	st, err := wire.NewClientServiceClient(conn).ClusterStatus(cctx, &wire.ClusterStatusRequest{})
	switch {
	case err != nil:
		return nil, fmt.Errorf("node %q does not answer at %s: %s (is it running with --wait-join?)", id, apiAddr, status.Convert(err).Message())
	case st.GetNodeId() != id:
		return nil, fmt.Errorf("the node at %s is %q, not %q", apiAddr, st.GetNodeId(), id)
	case st.GetKeyError() != "":
		return nil, fmt.Errorf("node %q cannot join: %s", id, st.GetKeyError())
	}
	return st, nil
}

// peerStatus asks one member for its own status (its build, the keys its
// key file holds).
func (n *Node) peerStatus(ctx context.Context, id string) (*wire.ClusterStatusResponse, error) {
	var addr string
	n.replica.read(func(m *fsm.Machine) { addr = m.Node(id).GetApiAddr() })
	if addr == "" {
		return nil, errUnknownMember
	}
	conn, err := n.forwarder.conn(addr)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return wire.NewClientServiceClient(conn).ClusterStatus(cctx, &wire.ClusterStatusRequest{})
}
