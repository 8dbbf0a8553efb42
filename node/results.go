package node

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// resultChunk is the data one JobResult message carries.
const resultChunk = 1 << 20

// envelopeSlack is room for an envelope's header and tag around a stored
// result (its header names a few ids and hashes).
const envelopeSlack = 64 << 10

// JobResult streams a finished job's result JSON: the one in its record,
// or one stored by key, read from the store and checked against the
// identity it was sealed for. Any node answers from its own replica,
// waiting until the job has finished there.
func (a *clientAPI) JobResult(req *wire.JobResultRequest, stream wire.ClientService_JobResultServer) error {
	ctx := stream.Context()
	j, err := a.n.finishedJob(ctx, req.GetJobId())
	if err != nil {
		return err
	}
	if j.GetState() != pb.JobState_JOB_SUCCEEDED {
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf("job j%d failed: it has no result", j.GetId()))
	}
	data := []byte(j.GetResultJson())
	if j.GetResultJsonKey() != "" {
		if data, err = a.n.storedResult(ctx, j); err != nil {
			return err
		}
	}
	first := true
	for first || len(data) > 0 {
		n := min(len(data), resultChunk)
		msg := &wire.JobResultChunk{Data: data[:n]}
		if first {
			msg.Total = uint64(len(data))
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
		data, first = data[n:], false
	}
	return nil
}

// finishedJob waits until job id has finished in this node's replica.
func (n *Node) finishedJob(ctx context.Context, id uint64) (*pb.Job, error) {
	for {
		changed := n.replica.changed.wait()
		var j *pb.Job
		n.replica.read(func(m *fsm.Machine) { j = m.Job(id) })
		if j == nil {
			return nil, rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(id))
		}
		if j.GetState() != pb.JobState_JOB_RUNNING {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, fmt.Sprintf("job j%d has not finished (on node %s)", id, n.cfg.NodeID))
		case <-changed:
		}
	}
}

// storedResult reads a result JSON stored by key and checks its envelope:
// the tag, and that it was sealed for this job's root task and this call.
func (n *Node) storedResult(ctx context.Context, j *pb.Job) ([]byte, error) {
	key := j.GetResultJsonKey()
	blob, err := n.cfg.Store.Get(ctx, key)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		return nil, rpcError(ctx, codes.DataLoss, wire.ErrorReason_NOT_FOUND, fmt.Sprintf("job j%d: its stored result %s is missing from the checkpoint store", j.GetId(), key))
	case err != nil:
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, fmt.Sprintf("job j%d: reading its result from the checkpoint store: %v", j.GetId(), err))
	case len(blob) > n.cfg.Limits.ResultBytes+envelopeSlack:
		return nil, limitRPCError(ctx, &LimitError{What: fmt.Sprintf("job j%d's stored result", j.GetId()), Size: int64(len(blob)),
			Limit: int64(n.cfg.Limits.ResultBytes), Flag: flagResultBytes})
	}
	var clusterID string
	n.replica.read(func(m *fsm.Machine) { clusterID = m.ClusterID() })
	keys, err := n.JobKeySet(j.GetId())
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, fmt.Sprintf("job j%d: its keys: %v", j.GetId(), err))
	}
	h, payload, err := checkpoint.OpenEnvelope(keys, blob)
	if err == nil {
		err = checkResultHeader(h, key, clusterID, j)
	}
	if err != nil {
		return nil, rpcError(ctx, codes.DataLoss, wire.ErrorReason_ERROR_REASON_UNSPECIFIED, fmt.Sprintf("job j%d: refusing its stored result %s: %v", j.GetId(), key, err))
	}
	return payload, nil
}

func checkResultHeader(h checkpoint.Header, key, clusterID string, j *pb.Job) error {
	k, err := checkpoint.ParseKey(key)
	if err != nil {
		return err
	}
	want := checkpoint.Header{Cluster: clusterID, Job: j.GetId(), Task: fsm.RootTask, Epoch: k.Epoch, Seq: k.Seq,
		Kind: checkpoint.ResultJSONValue, Program: j.GetProgramHash(), Alg: h.Alg, Kid: h.Kid}
	if h != want {
		return fmt.Errorf("%w: sealed for %+v, expected %+v", checkpoint.ErrTampered, h, want)
	}
	return nil
}
