package kappaclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// WatchIdle is how long Watch waits on a silent stream before it watches
// again (found by the Jepsen-style suite: after a network cut a watch hung
// on a half-open connection long after its job had finished).
var WatchIdle = 15 * time.Second

// Submit submits a program bundle with an event; retries reuse the same
// request id, so the job is created once.
func (c *Client) Submit(ctx context.Context, bundle, event []byte, name string, maxLaunches uint32) (*wire.SubmitJobResponse, error) {
	return c.SubmitJob(ctx, &wire.SubmitJobRequest{ProgramBundle: bundle, EventJson: event, Name: name, MaxLaunches: maxLaunches})
}

// SubmitJob submits a job with every option of the request (priority…);
// the client fills in its identity, and retries reuse it.
func (c *Client) SubmitJob(ctx context.Context, r *wire.SubmitJobRequest) (*wire.SubmitJobResponse, error) {
	id, req := c.request()
	sub := proto.Clone(r).(*wire.SubmitJobRequest)
	sub.ClientId, sub.RequestId = id, req
	if sub.ProgramHash == "" {
		// The server checks the bundle's bytes against the hash computed here.
		sum := sha256.Sum256(sub.GetProgramBundle())
		sub.ProgramHash = hex.EncodeToString(sum[:])
	}
	var out *wire.SubmitJobResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewClientServiceClient(conn).SubmitJob(ctx, sub)
		return err
	})
	return out, err
}

// resultAttempt bounds one try at fetching a stored result (up to
// --max-result-bytes, 64MiB by default, through a slow link).
const resultAttempt = 2 * time.Minute

// Result is a finished job's result JSON: st's own, or the stored one
// streamed from the cluster when st says it is too large to carry.
func (c *Client) Result(ctx context.Context, st *wire.JobStatus) ([]byte, error) {
	if !st.GetResultStored() {
		return []byte(st.GetResultJson()), nil
	}
	var out []byte
	err := c.doWith(ctx, resultAttempt, func(ctx context.Context, conn *grpc.ClientConn) error {
		stream, err := wire.NewClientServiceClient(conn).JobResult(ctx, &wire.JobResultRequest{JobId: st.GetJobId()})
		if err != nil {
			return err
		}
		out = nil
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if out == nil {
				out = make([]byte, 0, min(chunk.GetTotal(), st.GetResultBytes()))
			}
			out = append(out, chunk.GetData()...)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("fetching the result of job j%d: %w", st.GetJobId(), err)
	}
	return out, nil
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
func (c *Client) TransferLeader(ctx context.Context, to string) (*wire.TransferLeaderResponse, error) {
	var out *wire.TransferLeaderResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewAdminServiceClient(conn).TransferLeader(ctx, &wire.TransferLeaderRequest{ToId: to})
		return err
	})
	return out, err
}

// Watch follows a job until it finishes, calling update with every status.
// A broken stream (the node died, a leader change) is resumed on another
// node; only ctx ends the watch early.
func (c *Client) Watch(ctx context.Context, job uint64, update func(*wire.JobStatus)) (*wire.JobStatus, error) {
	var last *wire.JobStatus
	err := c.follow(ctx, true, func(ctx context.Context, conn *grpc.ClientConn) (func() (bool, error), error) {
		stream, err := wire.NewClientServiceClient(conn).WatchJob(ctx, &wire.WatchJobRequest{JobId: job})
		return func() (bool, error) {
			st, err := stream.Recv()
			if err != nil {
				return false, err
			}
			last = st
			update(st)
			return st.GetState() != wire.JobState_JOB_RUNNING, nil
		}, err
	})
	return last, err
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
