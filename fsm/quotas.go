package fsm

import (
	"fmt"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Quotas bound what one job, one submitter or the whole cluster holds in
// the replicated state. The leader stamps its limits on each command they
// govern (Command.quotas), so every replica judges the command alike. A
// refused submit is an error result; a refused spawn or enqueue is an
// applied call whose response is Refused: the pausing call raises it in
// the program, which may handle it, and a relaunch gets the same answer.

// quotaHint says which server setting a quota is and how to change it.
func quotaHint(flag string) string {
	return fmt.Sprintf("the cluster's %s quota; an operator raises it with `kappa server --%s N` on every node", flag, flag)
}

func refused(format string, args ...any) *pb.Response {
	return &pb.Response{Result: &pb.Response_Refused{Refused: &pb.Refused{
		Code: pb.ErrorCode_QUOTA_EXCEEDED, Message: fmt.Sprintf(format, args...)}}}
}

// submitQuota refuses a job (new or retried) the cluster has no room for.
func (m *Machine) submitQuota(q *pb.Quotas) *pb.Result {
	if limit := q.GetMaxLiveJobs(); limit > 0 && uint64(m.liveJobs) >= limit {
		return fail(pb.ErrorCode_QUOTA_EXCEEDED, "quota exceeded: the cluster runs %d jobs, its limit; try again once one finishes (%s)",
			m.liveJobs, quotaHint("max-live-jobs"))
	}
	return nil
}

// spawnQuota refuses children beyond the job's task limit.
func spawnQuota(j *pb.Job, q *pb.Quotas, children int) *pb.Response {
	limit := q.GetMaxTasksPerJob()
	created := j.GetNextTaskId() - 1
	if limit == 0 || created+uint64(children) <= limit {
		return nil
	}
	return refused("quota exceeded: job j%d has %d tasks and may have %d; spawning %d more is refused (%s)",
		j.GetId(), created, limit, children, quotaHint("max-tasks-per-job"))
}

// enqueueQuota refuses items beyond what the job's queues may hold.
func enqueueQuota(j *pb.Job, q *pb.Quotas, items int) *pb.Response {
	limit := q.GetMaxQueueItemsPerJob()
	held := j.GetEnqueued() - j.GetDequeued()
	if limit == 0 || held+uint64(items) <= limit {
		return nil
	}
	return refused("quota exceeded: the queues of job j%d hold %d items and may hold %d; enqueueing %d more is refused (%s)",
		j.GetId(), held, limit, items, quotaHint("max-queue-items-per-job"))
}
