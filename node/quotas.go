package node

import (
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Quotas bound what one job, one submitter and the whole cluster may
// hold, so that no submitter can exhaust the replicated state or the
// lambdas other pipelines need. The defaults are far above what a normal
// pipeline uses (docs/operations.md, "Limits and quotas", gives what each
// costs).
//
// All but MaxRunningPerJob are enforced in the FSM: the leader stamps them
// on each command they govern, so replicas never judge a command by
// different limits. MaxRunningPerJob is the leader's launch loop's own.
type Quotas struct {
	// MaxTasksPerJob bounds the tasks a job creates (its root included).
	MaxTasksPerJob uint64
	// MaxQueueItemsPerJob bounds the items a job's queues hold at once,
	// across all its queues (items of blocked producers included).
	MaxQueueItemsPerJob uint64
	// MaxRunningPerJob bounds the lambdas one job runs at once.
	MaxRunningPerJob uint64
	// MaxLiveJobs bounds the jobs running in the cluster at once.
	MaxLiveJobs uint64
	// MaxLiveJobsPerSubmitter bounds the jobs one principal (a job's
	// owner) runs at once.
	MaxLiveJobsPerSubmitter uint64
}

// DefaultQuotas are the quotas `kappa server` runs with.
func DefaultQuotas() Quotas {
	return Quotas{
		MaxTasksPerJob:          100_000,
		MaxQueueItemsPerJob:     100_000,
		MaxRunningPerJob:        1_000,
		MaxLiveJobs:             10_000,
		MaxLiveJobsPerSubmitter: 1_000,
	}
}

func (q *Quotas) setDefaults(d Quotas) {
	orDefault(&q.MaxTasksPerJob, d.MaxTasksPerJob)
	orDefault(&q.MaxQueueItemsPerJob, d.MaxQueueItemsPerJob)
	orDefault(&q.MaxRunningPerJob, d.MaxRunningPerJob)
	orDefault(&q.MaxLiveJobs, d.MaxLiveJobs)
	orDefault(&q.MaxLiveJobsPerSubmitter, d.MaxLiveJobsPerSubmitter)
}

// stamp is what the leader puts on the commands the FSM enforces them on.
func (q Quotas) stamp() *pb.Quotas {
	return &pb.Quotas{MaxTasksPerJob: q.MaxTasksPerJob, MaxQueueItemsPerJob: q.MaxQueueItemsPerJob, MaxLiveJobs: q.MaxLiveJobs,
		MaxLiveJobsPerSubmitter: q.MaxLiveJobsPerSubmitter}
}

// governed says whether the FSM judges a command by the quotas: submits,
// retries, spawns and enqueues, the commands that make the state grow.
func governed(c *pb.Command) bool {
	if c.GetSubmitJob() != nil || c.GetRetryJob() != nil {
		return true
	}
	switch c.GetCall().GetOp().(type) {
	case *pb.TaskCall_Spawn, *pb.TaskCall_Enqueue:
		return true
	}
	return false
}
