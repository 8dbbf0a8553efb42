package node

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Dead-server cleanup (opt-in, like Consul autopilot's CleanupDeadServers):
// a voter the leader has not reached for Config.DeadServerAfter is removed
// from the cluster, so it stops counting toward the quorum and a
// replacement can take its place. Never when the voters left would not
// keep a quorum of live ones, nor when fewer than Config.MinQuorum would
// be left.

// deadServers is the leader's soft state about unreachable followers: since
// when each has failed heartbeats, from raft's heartbeat observations.
type deadServers struct {
	mu    sync.Mutex
	since map[raft.ServerID]time.Time
	// held remembers, per server, why it was last kept, so that is
	// logged once rather than every round.
	held map[raft.ServerID]string
}

func newDeadServers() *deadServers {
	return &deadServers{since: map[raft.ServerID]time.Time{}, held: map[raft.ServerID]string{}}
}

// reset forgets everything: a new leader's replication starts every
// follower's last contact afresh.
func (d *deadServers) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.since = map[raft.ServerID]time.Time{}
	d.held = map[raft.ServerID]string{}
}

func (d *deadServers) failed(id raft.ServerID, lastContact time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.since[id]; !ok {
		d.since[id] = lastContact
	}
}

func (d *deadServers) resumed(id raft.ServerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.since, id)
	delete(d.held, id)
}

// failing returns since when each failing server has failed.
func (d *deadServers) failing() map[raft.ServerID]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[raft.ServerID]time.Time, len(d.since))
	for id, t := range d.since {
		out[id] = t
	}
	return out
}

// hold reports whether why is news for id (and remembers it).
func (d *deadServers) hold(id raft.ServerID, why string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.held[id] == why {
		return false
	}
	d.held[id] = why
	return true
}

// watchHeartbeats feeds raft's heartbeat observations to n.dead, when
// cleanup is on.
func (n *Node) watchHeartbeats(r *raft.Raft) {
	defer n.wg.Done()
	if n.cfg.DeadServerAfter <= 0 {
		return
	}
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	r.RegisterObserver(obs)
	defer r.DeregisterObserver(obs)
	for {
		select {
		case <-n.done:
			return
		case o := <-ch:
			switch h := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				n.dead.failed(h.PeerID, h.LastContact)
			case raft.ResumedHeartbeatObservation:
				n.dead.resumed(h.PeerID)
			}
		}
	}
}

// cleanupLoop removes dead voters while this node leads.
func (n *Node) cleanupLoop(ctx context.Context) {
	every(ctx, min(n.cfg.DeadServerAfter/2, time.Second), func() { n.cleanupDeadServers(ctx) })
}

// cleanupDeadServers removes, longest dead first, every voter unreachable
// for DeadServerAfter that the rules allow.
func (n *Node) cleanupDeadServers(ctx context.Context) {
	cfg, err := n.configuration()
	if err != nil {
		return
	}
	failing := n.dead.failing()
	var voters []raft.ServerID
	var dead []raft.ServerID
	now := time.Now()
	for _, s := range cfg.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters = append(voters, s.ID)
		if since, ok := failing[s.ID]; ok && s.ID != raft.ServerID(n.cfg.NodeID) && now.Sub(since) >= n.cfg.DeadServerAfter {
			dead = append(dead, s.ID)
		}
	}
	sort.Slice(dead, func(a, b int) bool { return failing[dead[a]].Before(failing[dead[b]]) })
	for _, id := range dead {
		left, live := len(voters)-1, 0
		for _, v := range voters {
			if _, bad := failing[v]; !bad && v != id {
				live++
			}
		}
		var why string
		switch {
		case left < n.cfg.MinQuorum:
			why = fmt.Sprintf("the cluster would have %d voters, fewer than --min-quorum %d", left, n.cfg.MinQuorum)
		case live < left/2+1:
			why = fmt.Sprintf("the %d voters left would not keep a quorum of live ones (%d live)", left, live)
		}
		if why != "" {
			if n.dead.hold(id, why) {
				n.log.Warn("not removing a dead server", "id", id, "unreachable_for", now.Sub(failing[id]).Round(time.Second), "why", why)
			}
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, n.cfg.Raft.ApplyTimeout)
		err := n.removeMember(cctx, string(id))
		cancel()
		if err != nil {
			n.log.Warn("cannot remove a dead server", "id", id, "err", err)
			return
		}
		n.dead.resumed(id)
		n.metrics.deadRemoved.Inc()
		n.log.Warn("removed a dead server", "id", id, "unreachable_for", now.Sub(failing[id]).Round(time.Second),
			"dead_server_after", n.cfg.DeadServerAfter, "voters_left", left)
		voters = removeID(voters, id)
	}
}

func removeID(ids []raft.ServerID, id raft.ServerID) []raft.ServerID {
	out := ids[:0]
	for _, v := range ids {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}
