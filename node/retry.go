package node

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// RetryJob resumes a failed or cancelled job (fsm/retry.go says how). It
// first checks that what the tasks resume from is still in the store:
// the program bundle and every checkpoint, start value and response value
// they need; a retry that could only fail again is refused, naming what
// is missing.
func (a *clientAPI) RetryJob(ctx context.Context, req *wire.RetryJobRequest) (*wire.RetryJobResponse, error) {
	if req.GetClientId() == "" || req.GetRequestId() == 0 {
		return nil, invalid(ctx, "retry needs client_id and request_id (they make a retried retry safe)")
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	var (
		program string
		keys    []fsm.RetryKey
		job     *pb.Job
	)
	a.n.replica.read(func(m *fsm.Machine) {
		job = m.Job(req.GetJobId())
		program, keys = m.RetryNeeds(req.GetJobId())
	})
	if job == nil {
		return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(req.GetJobId()))
	}
	if job.GetState() == pb.JobState_JOB_FAILED {
		if err := a.n.checkRetryable(ctx, req.GetJobId(), program, keys); err != nil {
			return nil, err
		}
	}
	// The FSM judges the job's state; a job that is not failed is refused
	// there with the reason.
	res, err := a.n.commit(ctx, &pb.Command{ClientId: req.GetClientId(), RequestId: req.GetRequestId(),
		Op: &pb.Command_RetryJob{RetryJob: &pb.RetryJob{JobId: req.GetJobId(), Reason: req.GetReason()}}})
	if err != nil {
		return nil, err
	}
	ids := res.GetRetried().GetTaskIds()
	a.n.log.InfoContext(ctx, "job retried", "job", req.GetJobId(), "tasks", len(ids))
	return &wire.RetryJobResponse{TaskIds: ids}, nil
}

// checkRetryable reads that the store still holds everything the retried
// tasks resume from.
func (n *Node) checkRetryable(ctx context.Context, job uint64, program string, keys []fsm.RetryKey) error {
	need := []fsm.RetryKey{{What: "program bundle", Key: checkpoint.ProgramKey(program)}}
	var missing []string
	for _, k := range append(need, keys...) {
		ok, err := n.cfg.Store.Exists(ctx, k.Key)
		if err != nil {
			return rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED,
				fmt.Sprintf("retry of j%d: cannot read the checkpoint store: %v", job, err))
		}
		if ok {
			continue
		}
		what := k.What
		if k.Task != 0 {
			what = fmt.Sprintf("the %s of t%d", k.What, k.Task)
		}
		missing = append(missing, fmt.Sprintf("%s (%s)", what, k.Key))
	}
	if len(missing) == 0 {
		return nil
	}
	more := ""
	if len(missing) > 5 {
		more = fmt.Sprintf(" and %d more", len(missing)-5)
		missing = missing[:5]
	}
	return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE,
		fmt.Sprintf("job j%d cannot be retried: the checkpoint store no longer holds %s%s (deleted after the job's retention, or by hand)",
			job, strings.Join(missing, ", "), more))
}
