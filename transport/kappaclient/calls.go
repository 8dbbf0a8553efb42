package kappaclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// WatchIdle is how long Watch waits on a silent stream before it watches
// again (found by the Jepsen-style suite: after a network cut a watch hung
// on a half-open connection long after its job had finished).
var WatchIdle = 15 * time.Second

// Submit submits a program bundle with an event; retries reuse the same
// request id, so the job is created once.
func (c *Client) Submit(ctx context.Context, bundle, event []byte, name string, maxLaunches uint32) (*wire.SubmitJobResponse, error) {
	id, req := c.request()
	var out *wire.SubmitJobResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).SubmitJob(ctx, &wire.SubmitJobRequest{
			ClientId: id, RequestId: req, ProgramBundle: bundle, EventJson: event, Name: name, MaxLaunches: maxLaunches})
		return err
	})
	return out, err
}

// Job reads a job's status (linearizable unless stale).
func (c *Client) Job(ctx context.Context, job uint64, stale bool) (*wire.JobStatus, error) {
	var out *wire.JobStatus
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).GetJob(ctx, &wire.GetJobRequest{JobId: job, Stale: stale})
		return err
	})
	return out, err
}

// Jobs lists every job.
func (c *Client) Jobs(ctx context.Context, stale bool) ([]*wire.JobStatus, error) {
	var out *wire.ListJobsResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).ListJobs(ctx, &wire.ListJobsRequest{Stale: stale})
		return err
	})
	return out.GetJobs(), err
}

// Cancel cancels a running job.
func (c *Client) Cancel(ctx context.Context, job uint64, reason string) error {
	id, req := c.request()
	return c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := wire.NewClientServiceClient(conn).CancelJob(ctx, &wire.CancelJobRequest{ClientId: id, RequestId: req, JobId: job, Reason: reason})
		return err
	})
}

// Audit reads the FSM's per-task record of applied calls.
func (c *Client) Audit(ctx context.Context, job uint64) (*wire.AuditJobResponse, error) {
	var out *wire.AuditJobResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).AuditJob(ctx, &wire.AuditJobRequest{JobId: job})
		return err
	})
	return out, err
}

// Status asks one node (not the leader) about itself.
func (c *Client) Status(ctx context.Context, addr string) (*wire.ClusterStatusResponse, error) {
	conn, err := c.Conn(addr)
	if err != nil {
		return nil, err
	}
	return wire.NewClientServiceClient(conn).ClusterStatus(ctx, &wire.ClusterStatusRequest{})
}

// Members lists the cluster's members as the leader sees them.
func (c *Client) Members(ctx context.Context) (*wire.MembersResponse, error) {
	var out *wire.MembersResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewAdminServiceClient(conn).Members(ctx, &wire.MembersRequest{})
		return err
	})
	return out, err
}

// Join adds a node to the cluster.
func (c *Client) Join(ctx context.Context, id, raftAddr, apiAddr string) error {
	return c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := wire.NewAdminServiceClient(conn).Join(ctx, &wire.JoinRequest{NodeId: id, RaftAddr: raftAddr, ApiAddr: apiAddr})
		return err
	})
}

// Remove takes a node out of the cluster.
func (c *Client) Remove(ctx context.Context, id string) error {
	return c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		_, err := wire.NewAdminServiceClient(conn).Remove(ctx, &wire.RemoveRequest{NodeId: id})
		return err
	})
}

// TransferLeader hands leadership to a node ("" lets raft pick).
func (c *Client) TransferLeader(ctx context.Context, to string) (string, error) {
	var out *wire.TransferLeaderResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewAdminServiceClient(conn).TransferLeader(ctx, &wire.TransferLeaderRequest{ToId: to})
		return err
	})
	return out.GetLeaderId(), err
}

// Watch follows a job until it finishes, calling update with every status.
// A broken stream (the node died, a leader change) is resumed on another
// node; only ctx ends the watch early.
func (c *Client) Watch(ctx context.Context, job uint64, update func(*wire.JobStatus)) (*wire.JobStatus, error) {
	var last *wire.JobStatus
	delay := 50 * time.Millisecond
	for {
		c.mu.Lock()
		addr := c.addrs[c.pref%len(c.addrs)]
		c.mu.Unlock()
		done, err := c.watchOnce(ctx, addr, job, func(st *wire.JobStatus) { last = st; update(st) })
		if done {
			return last, nil
		}
		if ctx.Err() != nil {
			return last, ctx.Err()
		}
		if err != nil && !Retryable(err) && status.Code(err) != codes.NotFound && status.Code(err) != codes.Canceled {
			return last, err
		}
		c.mu.Lock()
		c.pref = (c.pref + 1) % len(c.addrs)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

func (c *Client) watchOnce(ctx context.Context, addr string, job uint64, update func(*wire.JobStatus)) (bool, error) {
	conn, err := c.Conn(addr)
	if err != nil {
		return false, status.Error(codes.Unavailable, err.Error())
	}
	// A stream that stays silent may sit on a connection a network cut
	// left half-open, where no error will ever arrive: give it up after
	// WatchIdle and watch again (a new stream starts with the job's
	// current status).
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(WatchIdle, cancel)
	defer idle.Stop()
	stream, err := wire.NewClientServiceClient(conn).WatchJob(sctx, &wire.WatchJobRequest{JobId: job})
	if err != nil {
		return false, err
	}
	for {
		st, err := stream.Recv()
		if err != nil && ctx.Err() == nil && sctx.Err() != nil {
			return false, status.Error(codes.Unavailable, fmt.Sprintf("%s sent nothing for %s", addr, WatchIdle))
		}
		if errors.Is(err, io.EOF) {
			return false, status.Error(codes.Unavailable, fmt.Sprintf("%s ended the watch early", addr))
		}
		if err != nil {
			return false, err
		}
		idle.Reset(WatchIdle)
		update(st)
		if st.GetState() != wire.JobState_JOB_RUNNING {
			return true, nil
		}
	}
}

// InvocationLogs asks one node for the invocations of a job (of one task
// unless task is 0) it launched while leader, with their output.
func (c *Client) InvocationLogs(ctx context.Context, addr string, job, task uint64) ([]*wire.InvocationLog, error) {
	conn, err := c.Conn(addr)
	if err != nil {
		return nil, err
	}
	out, err := wire.NewClientServiceClient(conn).InvocationLogs(ctx, &wire.InvocationLogsRequest{JobId: job, TaskId: task})
	return out.GetInvocations(), err
}
