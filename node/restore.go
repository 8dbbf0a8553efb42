package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/node/backup"
)

// Two ways to start a cluster again from one node's state, both with
// --force-new-cluster: restoring a backup into an empty data dir, and
// recovering from lost quorum on a surviving node. Either way this node
// becomes the only voter, the others join it with empty data dirs, and its
// first act as leader is RelaunchAll (fsm/timeline.go): the state may lack
// what the lost cluster committed last, so every running task resumes from
// the checkpoint the state names, under epochs the lost cluster never used.

// Files in the data dir: relaunchFile holds the reason for RelaunchAll
// until the leader committed it (a crash in between commits it on the next
// start); recoveredFile remembers that this dir started a new cluster, so
// a --force-new-cluster left on the command line is refused at the next
// restart instead of splitting the cluster again.
const (
	relaunchFile  = "relaunch-pending"
	recoveredFile = "recovered"
)

// nothingToRecover: --force-new-cluster on a data dir without Raft state.
const nothingToRecover = "data dir %s holds no Raft state to recover: start a new cluster with --bootstrap, " +
	"or restore a backup with --restore FILE --force-new-cluster"

// aloneConfiguration is a Raft configuration of this node alone.
func (n *Node) aloneConfiguration() raft.Configuration {
	return raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.NodeID), Address: n.trans.LocalAddr()}}}
}

// startAlone runs before Raft starts when --restore or --force-new-cluster
// is given: it writes the backup as this node's snapshot, or rewrites the
// survivor's configuration to itself alone.
func (n *Node) startAlone(rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, hasState bool) error {
	if !n.cfg.ForceNewCluster {
		return fmt.Errorf("node: --restore %s starts a new cluster from the backup: add --force-new-cluster to say so", n.cfg.Restore)
	}
	relaunch := &pb.Command{Op: &pb.Command_RelaunchAll{RelaunchAll: &pb.RelaunchAll{}}}
	if need, know := fsm.RequiredVersion(relaunch), n.replica.m.MaxVersion(); know < need {
		return fmt.Errorf("node: --force-new-cluster needs command version %d; this node applies up to %d", need, know)
	}
	if n.cfg.Bootstrap || n.cfg.Join != "" {
		return fmt.Errorf("node: --force-new-cluster makes this node a cluster of its own: drop --bootstrap and --join (the other nodes join it)")
	}
	if n.cfg.Restore != "" && hasState {
		return fmt.Errorf("node: data dir %s holds Raft state already: --restore needs an empty data dir (it starts a new cluster); "+
			"to restart this node, drop --restore and --force-new-cluster", n.cfg.DataDir)
	}
	if done, err := os.ReadFile(filepath.Join(n.cfg.DataDir, recoveredFile)); err == nil {
		return fmt.Errorf("node: data dir %s already started a new cluster (%s); drop --force-new-cluster and --restore to restart this node "+
			"(to recover it again, delete %s first)", n.cfg.DataDir, strings.TrimSpace(string(done)), filepath.Join(n.cfg.DataDir, recoveredFile))
	}
	var reason string
	if n.cfg.Restore != "" {
		b, err := n.writeBackupSnapshot(snaps)
		if err != nil {
			return err
		}
		reason = fmt.Sprintf("restored from a backup of cluster %s at index %d", b.ClusterID, b.Index)
	} else {
		if !hasState {
			return fmt.Errorf("node: "+nothingToRecover, n.cfg.DataDir)
		}
		last, err := n.checkLogVersions(logs)
		if err != nil {
			return err
		}
		// A fresh replica: RecoverCluster replays the log into it to make
		// the new snapshot, then NewRaft restores that into ours.
		if err := raft.RecoverCluster(rc, newReplica(n.cfg.Unsafe.FSM), logs, stable, snaps, n.trans, n.aloneConfiguration()); err != nil {
			return fmt.Errorf("node: recovering the cluster on this node: %w", err)
		}
		reason = fmt.Sprintf("recovered from lost quorum on node %s (log up to index %d)", n.cfg.NodeID, last)
		n.log.Warn("recovered from lost quorum: this node is now the cluster's only voter, with every entry of its log; "+
			"wipe the other nodes' data dirs and start them with --join", "last_index", last)
	}
	stamp := reason + " at " + time.Now().UTC().Format(time.RFC3339)
	if err := os.WriteFile(filepath.Join(n.cfg.DataDir, relaunchFile), []byte(reason+"\n"), 0o600); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return os.WriteFile(filepath.Join(n.cfg.DataDir, recoveredFile), []byte(stamp+"\n"), 0o600)
}

// checkLogVersions refuses to recover a log with entries newer than this
// build applies (RecoverCluster would skip them and rewrite the log
// without them), and returns the log's last index.
func (n *Node) checkLogVersions(logs raft.LogStore) (uint64, error) {
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, fmt.Errorf("node: reading the Raft log: %w", err)
	}
	last, err := logs.LastIndex()
	if err != nil {
		return 0, fmt.Errorf("node: reading the Raft log: %w", err)
	}
	know := n.replica.m.MaxVersion()
	for i := max(first, 1); i <= last && first > 0; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			return 0, fmt.Errorf("node: reading log entry %d: %w", i, err)
		}
		var e pb.Entry
		if l.Type != raft.LogCommand || proto.Unmarshal(l.Data, &e) != nil {
			continue
		}
		if e.GetVersion() > know {
			return 0, fmt.Errorf("node: --force-new-cluster: %w", &fsm.VersionError{What: fmt.Sprintf("log entry %d", i), Kind: "command", Need: e.GetVersion(), Know: know})
		}
	}
	return last, nil
}

// writeBackupSnapshot checks the backup and writes it as this node's Raft
// snapshot at the backup's index, with this node the only voter. The
// snapshot's term is 1: the restored cluster's Raft history starts anew,
// and every later entry has a term at least that.
func (n *Node) writeBackupSnapshot(snaps raft.SnapshotStore) (*backup.Backup, error) {
	b, err := backup.ReadFile(n.cfg.Restore)
	if err != nil {
		return nil, fmt.Errorf("node: --restore: %w", err)
	}
	if _, err := b.Machine(); err != nil {
		return nil, fmt.Errorf("node: --restore %s: %w", n.cfg.Restore, err)
	}
	if b.Index == 0 {
		return nil, fmt.Errorf("node: --restore %s: the backup holds an empty state", n.cfg.Restore)
	}
	sink, err := snaps.Create(raft.SnapshotVersionMax, b.Index, 1, n.aloneConfiguration(), b.Index, n.trans)
	if err != nil {
		return nil, fmt.Errorf("node: --restore: creating the snapshot: %w", err)
	}
	if _, err := sink.Write(b.State); err != nil {
		sink.Cancel()
		return nil, fmt.Errorf("node: --restore: writing the snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return nil, fmt.Errorf("node: --restore: writing the snapshot: %w", err)
	}
	n.restored = b
	return b, nil
}

// checkRestored, after Raft restored the snapshot, checks that this node's
// state is the backup's, hash for hash.
func (n *Node) checkRestored() error {
	if n.restored == nil {
		return nil
	}
	var hash string
	var index uint64
	n.replica.read(func(m *fsm.Machine) { hash, index = m.StateHash(), m.AppliedIndex() })
	if hash != n.restored.StateHash {
		return fmt.Errorf("node: --restore: the restored state's hash is %s, the backup's %s", hash, n.restored.StateHash)
	}
	n.log.Warn("restored a backup: this node is a new cluster's only voter; start the other nodes with empty data dirs and --join",
		"cluster", n.restored.ClusterID, "index", index, "state_hash", hash, "matches_backup", true)
	return nil
}

// startNewTimeline commits RelaunchAll if a restore or recovery left it
// pending. The new leader calls it before its loops start, so nothing is
// launched from the old timeline's epochs; it retries while it leads.
func (n *Node) startNewTimeline(ctx context.Context) error {
	path := filepath.Join(n.cfg.DataDir, relaunchFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil // nothing pending
	}
	reason := strings.TrimSpace(string(raw))
	for {
		err := n.relaunchAll(ctx, reason)
		if err == nil {
			if err := os.Remove(path); err != nil {
				n.log.Warn("cannot remove the relaunch marker; the next start relaunches again", "path", path, "err", err)
			}
			return nil
		}
		if !n.isLeader() {
			return fmt.Errorf("lost leadership before relaunching the running tasks: %w", err)
		}
		n.log.Warn("cannot relaunch the running tasks yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (n *Node) relaunchAll(ctx context.Context, reason string) error {
	cctx, cancel := context.WithTimeout(ctx, n.cfg.Raft.ApplyTimeout)
	defer cancel()
	// A restored or recovered cluster has one voter, this node: it can
	// raise the cluster's command version to what RelaunchAll needs.
	n.raiseClusterVersion(cctx)
	var claimed int
	n.replica.read(func(m *fsm.Machine) { claimed = len(m.Claimed()) })
	// Epochs from now on start above the restore's time in ms × 4096: above
	// any epoch of the lost timeline (launches far fewer than 4096 per ms)
	// and of any earlier restore of the same backup.
	base := uint64(time.Now().UnixMilli()) << 12
	cmd := &pb.Command{Op: &pb.Command_RelaunchAll{RelaunchAll: &pb.RelaunchAll{EpochBase: base, Reason: reason}}}
	if _, err := n.commit(cctx, cmd); err != nil {
		return err
	}
	n.log.Warn("new timeline: every task that was running is relaunched from its last checkpoint", "reason", reason, "relaunched", claimed, "epoch_base", base)
	if err := n.forgetOldMembers(cctx); err != nil {
		n.log.Warn("cannot forget the lost cluster's members", "err", err)
	}
	return nil
}

// forgetOldMembers drops from the member table the nodes the state lists
// but the Raft configuration lacks (the lost cluster's): lambdas are no
// longer handed their addresses, and a node that joins again is listed
// again.
func (n *Node) forgetOldMembers(ctx context.Context) error {
	cfg, err := n.configuration()
	if err != nil {
		return err
	}
	member := map[string]bool{}
	for _, s := range cfg.Servers {
		member[string(s.ID)] = true
	}
	var gone []string
	n.replica.read(func(m *fsm.Machine) {
		for _, node := range m.Nodes() {
			if !member[node.GetId()] {
				gone = append(gone, node.GetId())
			}
		}
	})
	for _, id := range gone {
		if _, err := n.commit(ctx, &pb.Command{Op: &pb.Command_RemoveNode{RemoveNode: &pb.RemoveNode{NodeId: id}}}); err != nil {
			return err
		}
	}
	if len(gone) > 0 {
		n.log.Info("forgot the lost cluster's members; they join again with empty data dirs", "members", gone)
	}
	return nil
}
