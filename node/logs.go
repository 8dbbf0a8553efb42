package node

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/lambda"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// invocationLogCap bounds the invocations a node remembers: each keeps at
// most the 4 KB log tail the platform returns, so the ring stays under
// ~16 MB. Logs are soft state, for people debugging a program; they are
// not replicated (on AWS the complete logs are in CloudWatch).
const invocationLogCap = 4096

// invocationLogs is a ring of the last invocations this node launched.
type invocationLogs struct {
	mu   sync.Mutex
	ring []*wire.InvocationLog
	next int
}

func (l *invocationLogs) add(rec *wire.InvocationLog) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < invocationLogCap {
		l.ring = append(l.ring, rec)
		return
	}
	l.ring[l.next] = rec
	l.next = (l.next + 1) % invocationLogCap
}

// list returns a job's invocations (of one task unless task is 0), oldest
// first within the ring's order; clients sort what several nodes return.
func (l *invocationLogs) list(job, task uint64) []*wire.InvocationLog {
	l.mu.Lock()
	var out []*wire.InvocationLog
	for _, r := range l.ring {
		if r.GetJobId() == job && (task == 0 || r.GetTaskId() == task) {
			out = append(out, r)
		}
	}
	l.mu.Unlock()
	return out
}

// recordInvocation remembers how one launch went, with what it printed.
func (n *Node) recordInvocation(k fsm.TaskKey, epoch uint64, started time.Time, r lambda.Result, outcome pb.Outcome, msg string) {
	n.invocationLogs.add(&wire.InvocationLog{
		JobId: k.Job, TaskId: k.Task, Epoch: epoch,
		RequestId:     r.RequestID,
		Outcome:       strings.ToLower(strings.TrimPrefix(outcome.String(), "OUTCOME_")),
		Message:       msg,
		StartedUnixMs: started.UnixMilli(),
		DurationMs:    time.Since(started).Milliseconds(),
		ColdStart:     r.ColdStart,
		Output:        r.LogTail,
		NodeId:        n.cfg.NodeID,
	})
}

func (a *clientAPI) InvocationLogs(_ context.Context, req *wire.InvocationLogsRequest) (*wire.InvocationLogsResponse, error) {
	return &wire.InvocationLogsResponse{Invocations: a.n.invocationLogs.list(req.GetJobId(), req.GetTaskId())}, nil
}
