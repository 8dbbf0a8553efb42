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

// cleanupDeadServers removes the dead voters the rules allow.
func (n *Node) cleanupDeadServers(ctx context.Context) {
	cfg, err := n.configuration()
	if err != nil {
		return
	}
	var voters []raft.ServerID
	for _, s := range cfg.Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, s.ID)
		}
	}
	failing, now := n.dead.failing(), time.Now()
	remove, held := cleanupPlan(voters, failing, raft.ServerID(n.cfg.NodeID), now, n.cfg.DeadServerAfter, n.cfg.MinQuorum)
	for id, why := range held {
		if n.dead.hold(id, why) {
			n.log.Warn("not removing a dead server", "id", id, "unreachable_for", now.Sub(failing[id]).Round(time.Second), "why", why)
		}
	}
	for i, id := range remove {
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
			"dead_server_after", n.cfg.DeadServerAfter, "voters_left", len(voters)-i-1)
	}
}

// cleanupPlan decides which voters to remove, longest dead first: those
// failing for at least after, as long as the voters left keep a quorum of
// live ones and number at least minQuorum. held says why each other dead
// voter stays.
func cleanupPlan(voters []raft.ServerID, failing map[raft.ServerID]time.Time, self raft.ServerID, now time.Time,
	after time.Duration, minQuorum int) (remove []raft.ServerID, held map[raft.ServerID]string) {
	held = map[raft.ServerID]string{}
	var dead []raft.ServerID
	for _, v := range voters {
		if since, ok := failing[v]; ok && v != self && now.Sub(since) >= after {
			dead = append(dead, v)
		}
	}
	sort.Slice(dead, func(a, b int) bool {
		if !failing[dead[a]].Equal(failing[dead[b]]) {
			return failing[dead[a]].Before(failing[dead[b]])
		}
		return dead[a] < dead[b]
	})
	left := append([]raft.ServerID(nil), voters...)
	for _, id := range dead {
		rest, live := len(left)-1, 0
		for _, v := range left {
			if _, bad := failing[v]; !bad && v != id {
				live++
			}
		}
		switch {
		case rest < minQuorum:
			held[id] = fmt.Sprintf("the cluster would have %d voters, fewer than --min-quorum %d", rest, minQuorum)
		case live < rest/2+1:
			held[id] = fmt.Sprintf("the %d voters left would not keep a quorum of live ones (%d live)", rest, live)
		default:
			remove = append(remove, id)
			left = removeID(left, id)
		}
	}
	return remove, held
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
