package node

import (
	"context"
	"fmt"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// GCStats counts what garbage collection did (cumulative).
type GCStats struct {
	Rounds      uint64
	Deleted     uint64
	JobsExpired uint64
	LastError   string
}

// gcLoop collects checkpoint-store garbage by the reference rule: a key is
// deleted only when nothing in the FSM refers to it and it is older than
// its task's pointer (its seq is at most the task's last applied seq, so
// no worker can still be about to commit it), or its task can no longer
// write. A finished job's keys all go once its retention has passed, and
// then the job itself leaves the state.
func (n *Node) gcLoop(ctx context.Context) {
	every(ctx, n.cfg.GCInterval, func() {
		if err := n.collect(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("garbage collection round failed; retrying next round", "err", err)
			n.gcMu.Lock()
			n.gc.LastError = err.Error()
			n.gcMu.Unlock()
		}
	})
}

func (n *Node) collect(ctx context.Context) error {
	var jobs []*pb.Job
	var clockOn bool
	n.replica.read(func(m *fsm.Machine) { jobs, clockOn = m.Jobs(), m.ClusterVersion() >= 2 })
	expiredAt := n.retentionJudge(clockOn)
	var deleted, expired uint64
	for _, j := range jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n.gcHeld() {
			// Checked per job: a backup read after this round began
			// must find every key it references.
			n.log.Debug("garbage collection held for a backup")
			return nil
		}
		if j.GetState() != pb.JobState_JOB_RUNNING && expiredAt(j) {
			d, err := n.expireJob(ctx, j.GetId())
			deleted += d
			if err != nil {
				return err
			}
			expired++
			continue
		}
		d, err := n.collectJob(ctx, j.GetId())
		deleted += d
		if err != nil {
			return err
		}
	}
	n.gcMu.Lock()
	n.gc.Rounds++
	n.gc.Deleted += deleted
	n.gc.JobsExpired += expired
	n.gc.LastError = ""
	n.gcMu.Unlock()
	if deleted > 0 || expired > 0 {
		n.log.Info("garbage collected", "keys", deleted, "jobs_expired", expired)
	}
	return nil
}

// retentionJudge says whether a finished job's retention has passed. From
// command version 2 on it is judged by the cluster clock, which only
// counts time nodes really measured: a leader whose wall clock is hours
// ahead deletes nothing early. A job finished before (no cluster-clock
// finish) is judged as it was: by this node's wall clock against the
// finish time a leader's wall clock stamped.
func (n *Node) retentionJudge(clockOn bool) func(*pb.Job) bool {
	clock := n.replica.clusterClock()
	wall := time.Now().Add(n.cfg.TestClockOffset)
	return func(j *pb.Job) bool {
		if clockOn && j.GetFinishedClockMs() > 0 {
			return clock-j.GetFinishedClockMs() > n.cfg.Retention.Milliseconds()
		}
		return wall.Sub(time.UnixMilli(j.GetFinishedUnixMs())) > n.cfg.Retention
	}
}

func (n *Node) collectJob(ctx context.Context, job uint64) (uint64, error) {
	keys, err := n.cfg.Store.List(ctx, checkpoint.JobPrefix(job))
	if err != nil {
		return 0, err
	}
	// Read the references after listing: a key written after the read
	// cannot be in the list, and one committed before it is referenced.
	var refs fsm.JobRefs
	n.replica.read(func(m *fsm.Machine) { refs = m.Refs(job) })
	var deleted uint64
	for _, key := range keys {
		if !n.cfg.Unsafe.EagerGC && (refs.Keys[key] || !collectable(key, refs)) {
			continue
		}
		if err := n.cfg.Store.Delete(ctx, key); err != nil {
			return deleted, fmt.Errorf("deleting %s: %w", key, err)
		}
		deleted++
	}
	return deleted, nil
}

// collectable: an unreferenced key whose seq is not ahead of its task's
// last applied call (or whose task is over) can never be committed again.
func collectable(key string, refs fsm.JobRefs) bool {
	k, err := checkpoint.ParseKey(key)
	if err != nil || k.Kind == checkpoint.KindProgram {
		return false
	}
	last, known := refs.Seq[k.Task]
	return known && (refs.Terminal[k.Task] || k.Seq <= last)
}

// expireJob archives a finished job past its retention, deletes every key
// of it, then forgets the job. Without its archive record written, nothing
// is deleted.
func (n *Node) expireJob(ctx context.Context, job uint64) (uint64, error) {
	if err := n.archiveJob(ctx, job); err != nil {
		return 0, err
	}
	keys, err := n.cfg.Store.List(ctx, checkpoint.JobPrefix(job))
	if err != nil {
		return 0, err
	}
	var deleted uint64
	for _, key := range keys {
		if err := n.cfg.Store.Delete(ctx, key); err != nil {
			return deleted, fmt.Errorf("deleting %s: %w", key, err)
		}
		deleted++
	}
	res, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_ForgetJob{ForgetJob: &pb.ForgetJob{JobId: job}}})
	if err != nil {
		return deleted, err
	}
	if res.GetError() != nil && res.GetError().GetCode() != pb.ErrorCode_NOT_FOUND {
		return deleted, fmt.Errorf("forgetting job j%d: %s", job, res.GetError().GetMessage())
	}
	return deleted, nil
}

// GC returns the garbage collector's counters.
func (n *Node) GC() GCStats {
	n.gcMu.Lock()
	defer n.gcMu.Unlock()
	return n.gc
}
