package node

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Job history as clients see it: the events the FSM records per job
// (fsm/events.go), the task table, and the leader change a new leader
// commits so every running job's history shows it.

// JobEvents streams a job's events after req.after_seq from this node's
// replica; with follow, every new event as it commits, until the job
// finishes. A forgotten job's events come from its archive.
func (a *clientAPI) JobEvents(req *wire.JobEventsRequest, stream wire.ClientService_JobEventsServer) error {
	ctx := stream.Context()
	after, sent := req.GetAfterSeq(), false
	for {
		changed := a.n.replica.changed.wait()
		var (
			h       *pb.JobHistory
			state   pb.JobState
			exists  bool
			version uint32
		)
		a.n.replica.read(func(m *fsm.Machine) {
			if j := m.Job(req.GetJobId()); j != nil {
				exists, state = true, j.GetState()
				h = m.History(req.GetJobId(), after)
			}
			version = m.ClusterVersion()
		})
		if !exists {
			return a.archivedEvents(ctx, req, stream)
		}
		if h == nil && (version < 2 || state != pb.JobState_JOB_RUNNING) {
			return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, noHistory(req.GetJobId(), version))
		}
		if len(h.GetEvents()) > 0 || !sent {
			resp := &wire.JobEventsResponse{Events: eventsToWire(h.GetEvents()), Dropped: h.GetDropped(),
				Partial: h == nil || h.GetPartial(), State: wire.JobState(state)}
			if err := stream.Send(resp); err != nil {
				return err
			}
			sent = true
			if n := len(h.GetEvents()); n > 0 {
				after = h.GetEvents()[n-1].GetSeq()
			}
		}
		if !req.GetFollow() || state != pb.JobState_JOB_RUNNING {
			return nil
		}
		if err := nextChange(ctx, changed); err != nil {
			return err
		}
	}
}

// noHistory says why a job has no history.
func noHistory(job uint64, version uint32) string {
	if version < 2 {
		return fmt.Sprintf("job j%d has no history: the cluster runs command version %d, and histories are recorded from version 2, once every voter is upgraded (`kappa cluster members` shows each node's version)", job, version)
	}
	return fmt.Sprintf("job j%d has no history: it finished before the cluster recorded histories (command version 2)", job)
}

func (a *clientAPI) archivedEvents(ctx context.Context, req *wire.JobEventsRequest, stream wire.ClientService_JobEventsServer) error {
	rec, err := a.n.readArchive(ctx, req.GetJobId())
	if errors.Is(err, checkpoint.ErrNotFound) {
		return rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(req.GetJobId()))
	}
	if err != nil {
		return rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, err.Error())
	}
	var events []*wire.JobEvent
	for _, e := range rec.GetEvents() {
		if e.GetSeq() > req.GetAfterSeq() {
			events = append(events, e)
		}
	}
	return stream.Send(&wire.JobEventsResponse{Events: events, Dropped: rec.GetEventsDropped(), Partial: rec.GetEventsPartial(),
		State: rec.GetJob().GetState(), Archived: true})
}

func eventsToWire(events []*pb.JobEvent) []*wire.JobEvent {
	out := make([]*wire.JobEvent, len(events))
	for i, e := range events {
		out[i] = &wire.JobEvent{Seq: e.GetSeq(), AtUnixMs: e.GetAtUnixMs(), Kind: enumName(e.GetKind().String(), "EVENT_"),
			TaskId: e.GetTaskId(), Epoch: e.GetEpoch(), Detail: e.GetDetail(), Count: e.GetCount()}
		if e.GetReason() != pb.LaunchReason_LAUNCH_REASON_UNSPECIFIED {
			out[i].Reason = enumName(e.GetReason().String(), "LAUNCH_")
		}
	}
	return out
}

// enumName is an enum value's wire name: "EVENT_TASK_DONE" → "task_done".
func enumName(s, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

// taskTable reads a job's task table from this node's replica.
func (n *Node) taskTable(job uint64) []*wire.TaskStatus {
	var rows []fsm.TaskRow
	n.replica.read(func(m *fsm.Machine) { rows = m.TaskTable(job) })
	out := make([]*wire.TaskStatus, len(rows))
	for i, r := range rows {
		out[i] = &wire.TaskStatus{TaskId: r.ID, ParentId: r.Parent, Name: r.Name, State: fsm.TaskStateName(r.State), Epoch: r.Epoch,
			Launches: r.Launches, Checkpoints: r.Checkpoints, LastCheckpointUnixMs: r.LastCheckpoint,
			FirstLaunchUnixMs: r.FirstLaunch, FinishedUnixMs: r.Ended, Error: r.Error}
	}
	return out
}

// noteLeaderChange commits that this node leads now, so every running
// job's history shows the change (command version 2 only: an older voter
// could not apply it).
func (n *Node) noteLeaderChange(ctx context.Context) {
	if n.clusterVersion() < 2 {
		return
	}
	cmd := &pb.Command{Op: &pb.Command_LeaderChanged{LeaderChanged: &pb.LeaderChanged{NodeId: n.cfg.NodeID, Term: n.raft.CurrentTerm()}}}
	if _, err := n.proposer.propose(ctx, cmd); err != nil {
		n.log.Warn("cannot record the leader change in the jobs' histories", "err", err)
	}
}
