package raftgrpc

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// hashicorp/raft keeps how far each follower has replicated to itself;
// the transport sees every answer to the leader's AppendEntries, so it
// keeps the two numbers a leader's metrics and alerts want per peer.

// PeerReplication is what a peer's last answer to an AppendEntries (or a
// heartbeat) said.
type PeerReplication struct {
	// LastContact is when it answered.
	LastContact time.Time
	// LastLog is the index of the last entry in its log.
	LastLog uint64
}

// replication remembers the last answer of each peer this node sent
// AppendEntries to (only a leader sends them).
type replication struct {
	mu    sync.Mutex
	peers map[raft.ServerAddress]PeerReplication
}

func (r *replication) note(target raft.ServerAddress, resp *raft.AppendEntriesResponse) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.peers == nil {
		r.peers = map[raft.ServerAddress]PeerReplication{}
	}
	r.peers[target] = PeerReplication{LastContact: time.Now(), LastLog: resp.LastLog}
}

// Replication is the last answer of each peer that has answered this
// node's AppendEntries, by Raft address.
func (t *Transport) Replication() map[raft.ServerAddress]PeerReplication {
	t.replication.mu.Lock()
	defer t.replication.mu.Unlock()
	out := make(map[raft.ServerAddress]PeerReplication, len(t.replication.peers))
	for a, p := range t.replication.peers {
		out[a] = p
	}
	return out
}
