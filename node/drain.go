package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Planned maintenance: a drained node is kept off leadership, and a node
// that stops on purpose hands leadership over first.
//
// hashicorp/raft cannot stop a voter from campaigning, and demoting it to
// a non-voter would cost the cluster a vote (a 3-node cluster would no
// longer survive a second failure). So a drained node stays a voter, and
// whichever node leads acts on the replicated flag: a drained leader
// hands leadership to a voter that is not drained at once (drainWatch),
// whether it was drained while leading or won an election later.

// errNoSuccessor: no other voter may take leadership.
var errNoSuccessor = errors.New("no other voter that is not drained can take leadership")

func (a *adminAPI) Drain(ctx context.Context, req *wire.DrainRequest) (*wire.DrainResponse, error) {
	return a.n.setDrain(ctx, req.GetNodeId(), true)
}

func (a *adminAPI) Undrain(ctx context.Context, req *wire.DrainRequest) (*wire.DrainResponse, error) {
	return a.n.setDrain(ctx, req.GetNodeId(), false)
}

// setDrain commits a member's drain flag and, when the leader itself was
// drained, waits until leadership has moved off it.
func (n *Node) setDrain(ctx context.Context, id string, drained bool) (*wire.DrainResponse, error) {
	if id == "" {
		return nil, invalid(ctx, "drain and undrain need a node id")
	}
	if err := n.requireLeader(ctx); err != nil {
		return nil, err
	}
	cfg, err := n.configuration()
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	if !hasServer(cfg, id) {
		return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, fmt.Sprintf("node %q is not a member of the cluster", id))
	}
	if drained && len(n.successors(cfg, id)) == 0 {
		return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"cannot drain %s: no other voter that is not drained could lead; undrain one first (kappa cluster undrain NODE)", id))
	}
	if _, err := n.commit(ctx, &pb.Command{Op: &pb.Command_SetDrain{SetDrain: &pb.SetDrain{NodeId: id, Drained: drained}}}); err != nil {
		return nil, err
	}
	n.log.Info("drain flag set", "node", id, "drained", drained)
	if drained && id == n.cfg.NodeID {
		// drainWatch moves leadership; report where it went.
		n.drainKick()
		for {
			if leader := n.knownLeader(); leader != "" && leader != n.cfg.NodeID {
				return &wire.DrainResponse{LeaderId: leader}, nil
			}
			select {
			case <-ctx.Done():
				return nil, rpcError(ctx, codes.DeadlineExceeded, wire.ErrorReason_BAD_STATE,
					fmt.Sprintf("%s is drained, but leadership has not moved off it yet (see its log)", id))
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return &wire.DrainResponse{LeaderId: n.knownLeader()}, nil
}

func hasServer(cfg raft.Configuration, id string) bool {
	for _, s := range cfg.Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// successors are the voters other than self that are not drained, by id.
func (n *Node) successors(cfg raft.Configuration, self string) []raft.Server {
	var out []raft.Server
	n.replica.read(func(m *fsm.Machine) {
		for _, s := range cfg.Servers {
			if s.Suffrage == raft.Voter && string(s.ID) != self && !m.Node(string(s.ID)).GetDrained() {
				out = append(out, s)
			}
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (n *Node) isDrained(id string) (drained bool) {
	n.replica.read(func(m *fsm.Machine) { drained = m.Node(id).GetDrained() })
	return drained
}

func (n *Node) knownLeader() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// drainKick wakes drainWatch now rather than at its next tick.
func (n *Node) drainKick() {
	select {
	case n.drainNow <- struct{}{}:
	default:
	}
}

// drainWatch runs while this node leads: when this node is drained it
// hands leadership to a voter that is not, retrying while it fails.
func (n *Node) drainWatch(ctx context.Context) {
	warned := false
	for {
		if n.isDrained(n.cfg.NodeID) {
			n.log.Info("this node is drained: handing leadership over")
			// Not the leader's ctx: it ends the moment leadership does,
			// and the hand-over goes on until the successor is heard of.
			hctx, cancel := context.WithTimeout(context.Background(), n.handOverLimit())
			to, err := n.handLeadershipAway(hctx)
			cancel()
			if err == nil {
				n.log.Info("handed leadership over (drained)", "to", to)
				return
			}
			if !n.isLeader() {
				n.log.Warn("a drained leader lost leadership, but no successor was heard of", "err", err)
				return
			}
			if !warned || !errors.Is(err, errNoSuccessor) {
				n.log.Warn("a drained leader could not hand leadership over; retrying", "err", err)
			}
			warned = true
		}
		changed := n.replica.changed.wait()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-n.drainNow:
		case <-time.After(2 * time.Second):
		}
	}
}

// handLeadershipAway drains this leader's on-coordinator tasks, transfers
// leadership to a voter that is not drained, and waits until this node
// hears from the new leader, all within ctx. It returns the new leader.
func (n *Node) handLeadershipAway(ctx context.Context) (string, error) {
	cfg, err := n.configuration()
	if err != nil {
		return "", err
	}
	candidates := n.successors(cfg, n.cfg.NodeID)
	if len(candidates) == 0 {
		return "", errNoSuccessor
	}
	// The tasks' drain may take most of the time, never all of it: the
	// transfer itself needs about an election timeout.
	drainCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(deadline)/2, 2*time.Second)
		var cancel context.CancelFunc
		drainCtx, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	var last error
	for i, c := range candidates {
		transfer := func() raft.Future { return n.raft.LeadershipTransferToServer(c.ID, c.Address) }
		if i == 0 {
			transfer = n.successorTransfer(cfg)
		}
		if last = n.handOff(drainCtx, transfer); last == nil {
			break
		}
		if ctx.Err() != nil || !n.isLeader() {
			break
		}
	}
	if last != nil && n.isLeader() {
		return "", fmt.Errorf("leadership transfer failed: %w", last)
	}
	// A successor is heard of within an election or two; if it died
	// meanwhile (the whole cluster stopping), waiting longer is pointless.
	heard := time.After(2*time.Second + 2*n.cfg.Raft.ElectionTimeout)
	for {
		if leader := n.knownLeader(); leader != "" && leader != n.cfg.NodeID {
			return leader, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("leadership left this node, but no new leader was heard of in time: %w", ctx.Err())
		case <-heard:
			return "", errors.New("leadership left this node, but no new leader was heard of within two election timeouts")
		case <-n.done:
			return "", errors.New("the node is closing")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// handOverLimit bounds a drained leader's hand-over: the planned-stop bound
// when there is one, else the default's.
func (n *Node) handOverLimit() time.Duration {
	if n.cfg.ShutdownTimeout > 0 {
		return n.cfg.ShutdownTimeout
	}
	return DefaultConfig().ShutdownTimeout
}

// successorTransfer transfers leadership to a voter that may lead: when
// none is drained raft picks the most up-to-date follower, else the first
// voter that is not drained.
func (n *Node) successorTransfer(cfg raft.Configuration) func() raft.Future {
	candidates := n.successors(cfg, n.cfg.NodeID)
	others := 0
	for _, s := range cfg.Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.NodeID {
			others++
		}
	}
	if len(candidates) == 0 || len(candidates) == others {
		return n.raft.LeadershipTransfer
	}
	c := candidates[0]
	return func() raft.Future { return n.raft.LeadershipTransferToServer(c.ID, c.Address) }
}

// Shutdown is a planned stop (SIGTERM): a leader drains its
// on-coordinator tasks and hands leadership to another voter first, so
// the cluster is without a leader for about one transfer instead of an
// election timeout; all of it within Config.ShutdownTimeout (0: stop at
// once). A follower simply stops.
func (n *Node) Shutdown() error {
	if timeout := n.cfg.ShutdownTimeout; timeout > 0 && n.isLeader() && n.hasOtherVoters() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		to, err := n.handLeadershipAway(ctx)
		cancel()
		if err != nil {
			n.log.Warn("stopping without handing leadership over", "err", err, "shutdown_timeout", timeout)
		} else {
			n.log.Info("handed leadership over before stopping", "to", to, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return n.Close()
}
