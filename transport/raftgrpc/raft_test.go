package raftgrpc

// Real hashicorp/raft clusters over the transport.

import (
	"errors"
	"testing"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
)

// TestClusterReplicates: three nodes elect a leader and apply the same
// commands in the same order; followers take heartbeats on the fast path.
func TestClusterReplicates(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	leader := c.leader()
	c.applyN(leader, 300, 1)
	c.converged(300)
	for _, f := range c.followers() {
		waitFor(t, electionWait, string(f.id)+" heartbeat on the fast path", func() bool { return f.heartbeats.Load() > 0 })
	}
}

// Only a heartbeat the shortcut allows skips raft's queue: none before it
// is set, and none of a term it refuses (a newer term must reach raft's
// main loop, which alone may move the term on under a leader).
func TestHeartbeatShortcutOnlyWhereAllowed(t *testing.T) {
	tr := &Transport{}
	handled := 0
	tr.SetHeartbeatHandler(func(raft.RPC) { handled++ })
	if tr.heartbeatHandler(3) != nil {
		t.Fatal("a heartbeat took the shortcut before one was set")
	}
	tr.SetHeartbeatShortcut(func(term uint64) bool { return term == 3 })
	if tr.heartbeatHandler(4) != nil {
		t.Fatal("a heartbeat of a term the shortcut refuses took it")
	}
	fn := tr.heartbeatHandler(3)
	if fn == nil {
		t.Fatal("a heartbeat the shortcut allows went to the queue")
	}
	fn(raft.RPC{})
	if handled != 1 {
		t.Fatalf("the handler ran %d times, want 1", handled)
	}
}

// TestPreVote: raft keeps pre-vote on only for a raft.WithPreVote
// transport; elections over this one send RequestPreVote, at the start and
// after the leader dies.
func TestPreVote(t *testing.T) {
	var trans raft.Transport = &Transport{}
	if _, ok := trans.(raft.WithPreVote); !ok {
		t.Fatal("Transport is not a raft.WithPreVote: raft would turn pre-vote off")
	}
	c := newCluster(t, clusterOptions{})
	first := sum(c.nodes, pb.RaftTransport_RequestPreVote_FullMethodName)
	if first == 0 {
		t.Fatal("the first election sent no RequestPreVote")
	}
	old := c.leader()
	c.stop(old)
	c.leader()
	if sum(c.nodes, pb.RaftTransport_RequestPreVote_FullMethodName) == first {
		t.Fatal("the election after the leader died sent no RequestPreVote")
	}
	if sum(c.nodes, pb.RaftTransport_RequestVote_FullMethodName) == 0 {
		t.Fatal("no RequestVote after the pre-votes")
	}
}

// TestPipelinedReplication: under many concurrent applies raft replicates
// through AppendEntriesPipeline streams, and nothing is lost or reordered.
func TestPipelinedReplication(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	leader := c.leader()
	c.applyN(leader, 3000, 64)
	c.converged(3000)
	for _, f := range c.followers() {
		streams, msgs := f.rpcs.get(pb.RaftTransport_AppendEntriesPipeline_FullMethodName)
		if streams == 0 || msgs < 10 {
			t.Errorf("%s: %d pipeline streams carrying %d appends", f.id, streams, msgs)
		}
		t.Logf("%s: %d pipeline streams carried %d appends", f.id, streams, msgs)
	}
}

// TestLaggingFollowerCatchesUpBySnapshot: a follower down while the leader
// applies and compacts its log gets the state by InstallSnapshot, streamed
// in many chunks, then follows the log again.
func TestLaggingFollowerCatchesUpBySnapshot(t *testing.T) {
	c := newCluster(t, clusterOptions{
		raftConf: func(conf *raft.Config) {
			conf.TrailingLogs = 10
			conf.SnapshotThreshold = 50
		},
		transConf: func(cfg *Config) { cfg.SnapshotChunkSize = 1 << 10 },
	})
	leader := c.leader()
	c.applyN(leader, 20, 1)
	c.converged(20)
	lagging := c.followers()[0]
	c.stop(lagging)

	c.applyN(leader, 500, 8)
	if err := leader.raft.Snapshot().Error(); err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		t.Fatal(err)
	}
	c.restart(lagging, false)
	c.converged(520)
	calls, msgs := lagging.rpcs.get(pb.RaftTransport_InstallSnapshot_FullMethodName)
	if calls == 0 || lagging.fsm.restoreCount() == 0 {
		t.Fatalf("the lagging follower caught up without a snapshot (%d InstallSnapshot, %d restores)", calls, lagging.fsm.restoreCount())
	}
	if msgs < 10 {
		t.Errorf("the snapshot came in %d messages; want many 1 KiB chunks", msgs)
	}
	c.applyN(leader, 30, 1)
	c.converged(550)
}

// TestRestartedNodeRejoins: the leader stops, the others elect a new one
// and go on; the old leader comes back on its address with a new transport
// (serving through Listen) and catches up.
func TestRestartedNodeRejoins(t *testing.T) {
	c := newCluster(t, clusterOptions{boltDir: t.TempDir()})
	old := c.leader()
	c.applyN(old, 50, 4)
	c.converged(50)
	c.stop(old)

	leader := c.leader()
	c.applyN(leader, 50, 4)
	c.restart(old, true)
	c.converged(100)
	c.applyN(c.leader(), 50, 4)
	c.converged(150)
}

// TestLeadershipTransfer: the leader hands over with TimeoutNow.
func TestLeadershipTransfer(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	leader := c.leader()
	c.applyN(leader, 20, 1)
	target := c.followers()[0]
	if err := leader.raft.LeadershipTransferToServer(target.id, target.addr).Error(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, electionWait, "the transfer target to lead", func() bool { return target.raft.State() == raft.Leader })
	if calls, _ := target.rpcs.get(pb.RaftTransport_TimeoutNow_FullMethodName); calls == 0 {
		t.Fatal("leadership moved without a TimeoutNow")
	}
	c.applyN(target, 20, 1)
	c.converged(40)
}
