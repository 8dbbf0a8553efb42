package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// clientAPI serves the client API: submit, watch, results, status.
type clientAPI struct {
	wire.UnimplementedClientServiceServer
	n *Node
}

func (a *clientAPI) SubmitJob(ctx context.Context, req *wire.SubmitJobRequest) (*wire.SubmitJobResponse, error) {
	if req.GetClientId() == "" || req.GetRequestId() == 0 {
		return nil, invalid(ctx, "submit needs client_id and request_id (they make a retried submit safe)")
	}
	hash, err := a.n.cfg.Limits.checkSubmit(req)
	if err != nil {
		return nil, refused(ctx, "submit", err)
	}
	if p := req.GetPriority(); p > fsm.MaxPriority {
		return nil, invalid(ctx, fmt.Sprintf("submit: priority %d is not between 1 and %d", p, fsm.MaxPriority))
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	owner, err := a.n.jobOwnerFor(ctx)
	if err != nil {
		return nil, err
	}
	// The bundle goes to the store first, by content hash, so the job that
	// pins the hash can always fetch it.
	err = a.n.cfg.Store.Put(ctx, checkpoint.ProgramKey(hash), req.GetProgramBundle())
	if err != nil && !errors.Is(err, checkpoint.ErrExists) {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, "submit: storing the program: "+err.Error())
	}
	submit := &pb.SubmitJob{ProgramHash: hash, EventJson: req.GetEventJson(), Name: req.GetName(), MaxLaunches: req.GetMaxLaunches(), Owner: owner,
		Priority: req.GetPriority()}
	if a.n.clusterVersion() >= 2 {
		// Every replica keeps the history this leader's setting says.
		submit.HistoryLimit = uint32(a.n.cfg.JobHistory)
	}
	res, err := a.n.commit(ctx, &pb.Command{ClientId: req.GetClientId(), RequestId: req.GetRequestId(), Op: &pb.Command_SubmitJob{SubmitJob: submit}})
	if err != nil {
		return nil, err
	}
	a.n.log.InfoContext(ctx, "job submitted", "job", res.GetJobId(), "program", hash[:12], "name", req.GetName(), "owner", owner)
	return &wire.SubmitJobResponse{JobId: res.GetJobId(), ProgramHash: hash}, nil
}

func (a *clientAPI) GetJob(ctx context.Context, req *wire.GetJobRequest) (*wire.JobStatus, error) {
	if err := a.n.read(ctx, req.GetStale()); err != nil {
		return nil, err
	}
	st := a.n.jobStatus(req.GetJobId())
	if st == nil {
		return a.archivedJob(ctx, req)
	}
	if req.GetTasks() {
		st.Tasks = a.n.taskTable(req.GetJobId())
	}
	return st, nil
}

// archivedJob answers GetJob for a job the cluster forgot, from its archive.
func (a *clientAPI) archivedJob(ctx context.Context, req *wire.GetJobRequest) (*wire.JobStatus, error) {
	rec, err := a.n.readArchive(ctx, req.GetJobId())
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(req.GetJobId()))
	}
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, err.Error())
	}
	st := rec.GetJob()
	if !req.GetTasks() {
		st.Tasks = nil
	}
	return st, nil
}

// WatchJob sends the job's status at once and then whenever it changes,
// at most every watchInterval, until the job finishes.
func (a *clientAPI) WatchJob(req *wire.WatchJobRequest, stream wire.ClientService_WatchJobServer) error {
	ctx := stream.Context()
	var last *wire.JobStatus
	for {
		changed := a.n.replica.changed.wait()
		st := a.n.jobStatus(req.GetJobId())
		if st == nil {
			return rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(req.GetJobId()))
		}
		if last == nil || !proto.Equal(st, last) {
			if err := stream.Send(st); err != nil {
				return err
			}
			last = st
		}
		if st.GetState() != wire.JobState_JOB_RUNNING {
			return nil
		}
		if err := nextChange(ctx, changed); err != nil {
			return err
		}
	}
}

const watchInterval = 100 * time.Millisecond

// nextChange waits for the replica to change, then watchInterval more, so
// a stream sends one update for a burst of changes.
func nextChange(ctx context.Context, changed <-chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(watchInterval):
		return nil
	}
}

func notFoundJob(id uint64) string {
	return fmt.Sprintf("job j%d does not exist", id)
}

func (a *clientAPI) ClusterStatus(ctx context.Context, _ *wire.ClusterStatusRequest) (*wire.ClusterStatusResponse, error) {
	st := &wire.ClusterStatusResponse{
		NodeId:           a.n.cfg.NodeID,
		ApiAddr:          a.n.APIAddr(),
		LeaderApiAddr:    a.n.leaderAPIAddr(),
		RaftState:        a.n.raft.State().String(),
		Term:             a.n.raft.CurrentTerm(),
		CommitIndex:      a.n.raft.CommitIndex(),
		RaftAppliedIndex: a.n.raft.AppliedIndex(),
		LastContactMs:    a.n.lastContactMs(),
		Version:          BuildInfo(a.n.cfg.MaxCommandVersion),
		Insecure:         a.n.cfg.Certs == nil,
		LastLogIndex:     a.n.raft.LastIndex(),
		Store:            a.n.storeID,
		PerNodeStore:     a.n.cfg.PerNodeStore,
	}
	_, id := a.n.raft.LeaderWithID()
	st.LeaderId = string(id)
	st.DiskFull, st.DiskMessage = a.n.disk.status()
	a.n.replica.read(func(m *fsm.Machine) {
		st.AppliedIndex = m.AppliedIndex()
		st.StateHash = m.StateHash()
		jobs, tasks := m.Size()
		st.Jobs, st.Tasks = uint64(jobs), uint64(tasks)
		st.ClusterId = m.ClusterID()
		st.ClusterCommandVersion = m.ClusterVersion()
		st.KeyId = m.KeyID()
	})
	keys, err := a.n.keyFingerprints()
	if err != nil {
		st.KeyError = err.Error()
	}
	st.Keys = keys
	return st, nil
}

func (a *clientAPI) AuditJob(ctx context.Context, req *wire.AuditJobRequest) (*wire.AuditJobResponse, error) {
	if err := a.n.read(ctx, req.GetStale()); err != nil {
		return nil, err
	}
	var tasks []*pb.Task
	a.n.replica.read(func(m *fsm.Machine) { tasks = m.JobTasks(req.GetJobId()) })
	if tasks == nil {
		return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(req.GetJobId()))
	}
	out := &wire.AuditJobResponse{}
	for _, t := range tasks {
		ta := &wire.TaskAudit{TaskId: t.GetId(), Seq: t.GetSeq(), AppliedCalls: t.GetAppliedCalls(), Epoch: t.GetEpoch(), State: fsm.TaskStateName(t.GetState())}
		for _, a := range t.GetAudit() {
			ta.Records = append(ta.Records, &wire.AppliedCall{Seq: a.GetSeq(), Digest: a.GetDigest(), LogIndex: a.GetLogIndex()})
		}
		out.Tasks = append(out.Tasks, ta)
	}
	return out, nil
}

func (a *clientAPI) ListJobs(ctx context.Context, req *wire.ListJobsRequest) (*wire.ListJobsResponse, error) {
	if req.GetArchived() {
		jobs, err := a.n.archivedJobs(ctx)
		if err != nil {
			return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, err.Error())
		}
		return &wire.ListJobsResponse{Jobs: jobs}, nil
	}
	if err := a.n.read(ctx, req.GetStale()); err != nil {
		return nil, err
	}
	var jobs []*pb.Job
	a.n.replica.read(func(m *fsm.Machine) { jobs = m.Jobs() })
	out := &wire.ListJobsResponse{}
	for _, j := range jobs {
		// A listing carries no results: GetJob and JobResult do.
		st := jobStatusOf(j)
		st.ResultJson = ""
		out.Jobs = append(out.Jobs, st)
	}
	return out, nil
}

func (a *clientAPI) CancelJob(ctx context.Context, req *wire.CancelJobRequest) (*wire.CancelJobResponse, error) {
	if req.GetClientId() == "" || req.GetRequestId() == 0 {
		return nil, invalid(ctx, "cancel needs client_id and request_id (they make a retried cancel safe)")
	}
	if len(req.GetReason()) > maxNameBytes {
		return nil, invalid(ctx, fmt.Sprintf("cancel: the reason is %d bytes; reasons are at most %d", len(req.GetReason()), maxNameBytes))
	}
	_, err := a.n.commit(ctx, &pb.Command{ClientId: req.GetClientId(), RequestId: req.GetRequestId(),
		Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: req.GetJobId(), Reason: req.GetReason()}}})
	if err != nil {
		return nil, err
	}
	a.n.log.InfoContext(ctx, "job cancelled", "job", req.GetJobId(), "reason", req.GetReason())
	return &wire.CancelJobResponse{}, nil
}

// jobStatus reads a job's status from this node's replica (nil if unknown).
func (n *Node) jobStatus(id uint64) *wire.JobStatus {
	var j *pb.Job
	n.replica.read(func(m *fsm.Machine) { j = m.Job(id) })
	if j == nil {
		return nil
	}
	return jobStatusOf(j)
}

func jobStatusOf(j *pb.Job) *wire.JobStatus {
	c := j.GetTasksByState()
	var total uint64
	for _, v := range c {
		total += v
	}
	return &wire.JobStatus{
		JobId:           j.GetId(),
		Name:            j.GetName(),
		Owner:           j.GetOwner(),
		State:           wire.JobState(j.GetState()),
		ProgramHash:     j.GetProgramHash(),
		TasksTotal:      total,
		TasksPending:    c[pb.TaskState_TASK_PENDING],
		TasksRunnable:   c[pb.TaskState_TASK_RUNNABLE] + c[pb.TaskState_TASK_LAUNCHED],
		TasksRunning:    c[pb.TaskState_TASK_RUNNING],
		TasksBlocked:    c[pb.TaskState_TASK_BLOCKED] + c[pb.TaskState_TASK_PARKED],
		TasksDone:       c[pb.TaskState_TASK_DONE],
		TasksFailed:     c[pb.TaskState_TASK_FAILED],
		Launches:        j.GetLaunches(),
		Checkpoints:     j.GetCheckpoints(),
		CheckpointBytes: j.GetCheckpointBytes(),
		Rpcs:            j.GetRpcs(),
		Yields:          j.GetYields(),
		Relaunches:      j.GetRelaunches(),
		MaxEpoch:        j.GetMaxEpoch(),
		ResultJson:      j.GetResultJson(),
		ResultBytes:     j.GetResultJsonBytes(),
		ResultStored:    j.GetResultJsonKey() != "",
		Error:           j.GetError(),
		SubmittedUnixMs: j.GetSubmittedUnixMs(),
		FinishedUnixMs:  j.GetFinishedUnixMs(),
		StartedUnixMs:   j.GetStartedUnixMs(),
		Retries:         j.GetRetries(),
		Priority:        max(j.GetPriority(), 1),
	}
}

// jobOwnerFor names the owner a new job records: the submitting
// principal's name. Ownership is a version-2 field: below it, a job has no
// owner, which a submitter could then not reach, so its submit is refused
// until every voter is upgraded.
func (n *Node) jobOwnerFor(ctx context.Context) (string, error) {
	p, _ := PrincipalFrom(ctx)
	version := n.clusterVersion()
	switch {
	case p.Name == "":
		return "", nil
	case version >= 2:
		return p.Name, nil
	case p.Role == RoleSubmitter:
		return "", rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf(
			"%s cannot submit yet: recording a job's owner needs command version 2 and the cluster runs %d; finish upgrading every voter (docs/security.md, \"Upgrading\")", p, version))
	}
	return "", nil
}
