package fsm

import (
	"fmt"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Quotas bound what one job, one submitter (a job's owner) or the whole
// cluster holds in the replicated state. The leader stamps its limits on
// each command they govern (Command.quotas), so every replica judges the
// command alike. A refused submit is an error result; a refused spawn or
// enqueue is an applied call whose response is Refused: the pausing call
// raises it in the program, which may handle it, and a relaunch gets the
// same answer.

// quotaHint says which server setting a quota is and how to change it.
func quotaHint(flag string) string {
	return fmt.Sprintf("the cluster's %s quota; an operator raises it with `kappa server --%s N` on every node", flag, flag)
}

func refused(format string, args ...any) *pb.Response {
	return &pb.Response{Result: &pb.Response_Refused{Refused: &pb.Refused{
		Code: pb.ErrorCode_QUOTA_EXCEEDED, Message: fmt.Sprintf(format, args...)}}}
}

// submitQuota refuses a job (new or retried) the cluster, or its owner's
// share of it, has no room for.
func (m *Machine) submitQuota(q *pb.Quotas, owner string) *pb.Result {
	if limit := q.GetMaxLiveJobs(); limit > 0 && uint64(m.liveJobs) >= limit {
		return fail(pb.ErrorCode_QUOTA_EXCEEDED, "quota exceeded: the cluster runs %d jobs, its limit; try again once one finishes (%s)",
			m.liveJobs, quotaHint("max-live-jobs"))
	}
	if limit := q.GetMaxLiveJobsPerSubmitter(); limit > 0 && owner != "" && uint64(m.liveOwned[owner]) >= limit {
		return fail(pb.ErrorCode_QUOTA_EXCEEDED, "quota exceeded: %s runs %d jobs, its limit; try again once one of them finishes (%s)",
			owner, m.liveOwned[owner], quotaHint("max-live-jobs-per-submitter"))
	}
	return nil
}

// countLive counts a job that starts (+1) or stops (-1) running, in the
// cluster's and its owner's live jobs.
func (m *Machine) countLive(j *pb.Job, delta int) {
	m.liveJobs += delta
	if owner := j.GetOwner(); owner != "" {
		if m.liveOwned[owner] += delta; m.liveOwned[owner] <= 0 {
			delete(m.liveOwned, owner)
		}
	}
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
