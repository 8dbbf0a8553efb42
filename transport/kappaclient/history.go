package kappaclient

import (
	"context"

	"google.golang.org/grpc"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// JobDetail reads a job's status with its task table; a job the cluster
// forgot after its retention comes from the archive (Archived set).
func (c *Client) JobDetail(ctx context.Context, job uint64, stale bool) (*wire.JobStatus, error) {
	var out *wire.JobStatus
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).GetJob(ctx, &wire.GetJobRequest{JobId: job, Stale: stale, Tasks: true})
		return err
	})
	return out, err
}

// ArchivedJobs lists the jobs in the archive (forgotten after retention).
func (c *Client) ArchivedJobs(ctx context.Context) ([]*wire.JobStatus, error) {
	var out *wire.ListJobsResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).ListJobs(ctx, &wire.ListJobsRequest{Archived: true})
		return err
	})
	return out.GetJobs(), err
}

// Retry resumes a failed or cancelled job and returns the tasks that run
// again; retries of the request reuse its id, so it applies once.
func (c *Client) Retry(ctx context.Context, job uint64, reason string) ([]uint64, error) {
	id, req := c.request()
	var out *wire.RetryJobResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).RetryJob(ctx, &wire.RetryJobRequest{ClientId: id, RequestId: req, JobId: job, Reason: reason})
		return err
	})
	return out.GetTaskIds(), err
}

// Events reads a job's history after seq after, calling got with each
// batch of events. With follow it goes on until the job finishes, resuming
// after the last event seen on another node when a stream breaks;
// without, it returns after the events there are now.
func (c *Client) Events(ctx context.Context, job, after uint64, follow bool, got func(*wire.JobEventsResponse)) error {
	return c.follow(ctx, follow, func(ctx context.Context, conn *grpc.ClientConn) (func() (bool, error), error) {
		stream, err := wire.NewClientServiceClient(conn).JobEvents(ctx, &wire.JobEventsRequest{JobId: job, AfterSeq: after, Follow: follow})
		return func() (bool, error) {
			r, err := stream.Recv()
			if err != nil {
				return false, err
			}
			if n := len(r.GetEvents()); n > 0 {
				after = r.GetEvents()[n-1].GetSeq()
			}
			got(r)
			return !follow || r.GetState() != wire.JobState_JOB_RUNNING, nil
		}, err
	})
}
