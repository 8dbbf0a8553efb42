package node

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Drills: the faults a cluster can inject in itself (`kappa drill`), and
// what a node reports of the recovery. The drill service is admin only and
// answered by the node that receives the call.

// DrillExitCode is the exit status of a server told to exit by a drill: a
// supervisor (systemd's Restart=on-failure, dev-cluster) starts it again.
const DrillExitCode = 75

// maxDrillPause bounds FAULT_PAUSE_LEADER: a drill must not stop a
// cluster's work for long.
const maxDrillPause = time.Minute

// drillState is the node's part in drills; its zero value is ready.
type drillState struct {
	pausedUntil atomic.Int64 // unix nanoseconds; 0: not paused
	exitOnce    sync.Once
	mu          sync.Mutex
	exit        chan struct{}
}

func (d *drillState) exitCh() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.exit == nil {
		d.exit = make(chan struct{})
	}
	return d.exit
}

func (d *drillState) paused() bool {
	return time.Now().UnixNano() < d.pausedUntil.Load()
}

// waitUnpaused blocks while a drill pauses the leader loops; false when
// ctx ended first.
func (d *drillState) waitUnpaused(ctx context.Context) bool {
	for {
		wait := time.Until(time.Unix(0, d.pausedUntil.Load()))
		if wait <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// DrillExit is closed when a drill told this node to exit: the server
// stops the node and exits with DrillExitCode.
func (n *Node) DrillExit() <-chan struct{} { return n.drill.exitCh() }

type drillAPI struct {
	wire.UnimplementedDrillServiceServer
	n *Node
}

func (a *drillAPI) InjectFault(ctx context.Context, req *wire.InjectFaultRequest) (*wire.InjectFaultResponse, error) {
	n := a.n
	out := &wire.InjectFaultResponse{NodeId: n.cfg.NodeID}
	switch req.GetFault() {
	case wire.Fault_FAULT_STEP_DOWN:
		if err := n.requireLeader(ctx); err != nil {
			return nil, err
		}
		cfg, err := n.configuration()
		if err != nil {
			return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
		}
		if err := n.handOff(ctx, n.successorTransfer(cfg)); err != nil {
			return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, "step-down failed: "+err.Error())
		}
	case wire.Fault_FAULT_PAUSE_LEADER:
		if err := n.requireLeader(ctx); err != nil {
			return nil, err
		}
		d := time.Duration(req.GetDurationMs()) * time.Millisecond
		if d <= 0 || d > maxDrillPause {
			return nil, invalid(ctx, fmt.Sprintf("a leader-loop pause needs duration_ms between 1 and %d", maxDrillPause.Milliseconds()))
		}
		n.drill.pausedUntil.Store(time.Now().Add(d).UnixNano())
		n.log.Warn("drill: leader loops paused", "for", d)
	case wire.Fault_FAULT_KILL_INVOCATIONS:
		if err := n.requireLeader(ctx); err != nil {
			return nil, err
		}
		killed, err := n.killInvocations(ctx)
		if err != nil {
			return nil, err
		}
		out.Affected = killed
	case wire.Fault_FAULT_EXIT:
		if err := n.exitKeepsQuorum(ctx); err != nil {
			return nil, err
		}
		n.log.Warn("drill: exiting; a supervisor must start this node again", "exit_code", DrillExitCode)
		// Answer first: the process exits just after.
		go func() {
			time.Sleep(100 * time.Millisecond)
			n.drill.exitOnce.Do(func() { close(n.drill.exitCh()) })
		}()
	default:
		return nil, invalid(ctx, fmt.Sprintf("unknown fault %v", req.GetFault()))
	}
	return out, nil
}

// killInvocations ends every running invocation as crashed, as if its
// lambda died: the tasks become runnable and their next launch fences the
// old workers, whose later calls are refused.
func (n *Node) killInvocations(ctx context.Context) (uint32, error) {
	var ends []*pb.InvocationEnded
	n.replica.read(func(m *fsm.Machine) {
		for _, k := range m.Claimed() {
			t := m.Task(k)
			ends = append(ends, &pb.InvocationEnded{JobId: k.Job, TaskId: k.Task, Epoch: t.GetEpoch(),
				InvocationId: t.GetInvocationId(), Outcome: pb.Outcome_OUTCOME_CRASH, Message: "killed by a drill"})
		}
	})
	var killed uint32
	for _, e := range ends {
		if _, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_InvocationEnded{InvocationEnded: e}}); err != nil {
			return killed, proposeError(ctx, err)
		}
		killed++
	}
	n.log.Warn("drill: invocations killed", "count", killed)
	return killed, nil
}

// exitKeepsQuorum refuses an exit after which the voters left would not
// make a quorum: each other voter must answer within a second and know a
// leader.
func (n *Node) exitKeepsQuorum(ctx context.Context) error {
	cfg, err := n.configuration()
	if err != nil {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, err.Error())
	}
	voters, healthy := 0, 0
	var down []string
	for _, s := range cfg.Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		if string(s.ID) == n.cfg.NodeID {
			continue
		}
		if n.peerHasLeader(ctx, string(s.ID)) {
			healthy++
		} else {
			down = append(down, string(s.ID))
		}
	}
	if quorum := voters/2 + 1; healthy < quorum {
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"node %s will not exit: the cluster would keep %d of %d voters, below its quorum of %d (not answering or without a leader: %v)",
			n.cfg.NodeID, healthy, voters, quorum, down))
	}
	return nil
}

func (n *Node) peerHasLeader(ctx context.Context, id string) bool {
	var addr string
	n.replica.read(func(m *fsm.Machine) { addr = m.Node(id).GetApiAddr() })
	if addr == "" {
		return false
	}
	conn, err := n.forwarder.conn(addr)
	if err != nil {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := wire.NewClientServiceClient(conn).ClusterStatus(cctx, &wire.ClusterStatusRequest{})
	return err == nil && st.GetLeaderId() != ""
}

func (a *drillAPI) Probe(context.Context, *wire.ProbeRequest) (*wire.ProbeResponse, error) {
	n := a.n
	out := &wire.ProbeResponse{NodeId: n.cfg.NodeID, Leader: n.isLeader(), Term: n.raft.CurrentTerm()}
	if !out.Leader {
		return out, nil
	}
	n.mu.Lock()
	ready := n.leaderCancel != nil
	n.mu.Unlock()
	out.LeaderLoopsReady = ready && !n.drill.paused()
	claimed := n.claimedEpochs()
	out.Running = uint32(len(claimed))
	out.Confirmed = uint32(n.leases.confirmed(claimed))
	return out, nil
}
