package node

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// The archive: when a finished job's retention ends, the leader writes its
// record (state, result or error, timings, counters, task table, history)
// to the checkpoint store under archive/jJOB.json before it deletes the
// job's keys and the cluster forgets it. `kappa jobs show`, `jobs events`
// and `jobs list --archived` read it from there.

var archiveJSON = protojson.MarshalOptions{UseProtoNames: true}

// archiveJob writes a job's record to the archive. A record a previous
// leader wrote for the same run of the job stays; one of an earlier run
// (the job was retried since) is replaced.
func (n *Node) archiveJob(ctx context.Context, job uint64) error {
	rec := n.archiveRecord(job)
	if rec == nil {
		return nil
	}
	data, err := archiveJSON.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the archive record of j%d: %w", job, err)
	}
	key := checkpoint.ArchiveKey(job)
	err = n.cfg.Store.Put(ctx, key, data)
	if !errors.Is(err, checkpoint.ErrExists) {
		return wrapArchive(key, err)
	}
	old, err := n.readArchive(ctx, job)
	if err == nil && old.GetJob().GetFinishedUnixMs() == rec.GetJob().GetFinishedUnixMs() &&
		old.GetJob().GetSubmittedUnixMs() == rec.GetJob().GetSubmittedUnixMs() {
		return nil
	}
	if err := n.cfg.Store.Delete(ctx, key); err != nil {
		return wrapArchive(key, err)
	}
	return wrapArchive(key, n.cfg.Store.Put(ctx, key, data))
}

func wrapArchive(key string, err error) error {
	if err != nil {
		return fmt.Errorf("writing the archive record %s: %w", key, err)
	}
	return nil
}

// archiveRecord builds a job's record from this node's replica (nil if the
// job is gone).
func (n *Node) archiveRecord(job uint64) *wire.JobArchive {
	st := n.jobStatus(job)
	if st == nil {
		return nil
	}
	st.Tasks = n.taskTable(job)
	rec := &wire.JobArchive{Job: st, ArchivedUnixMs: time.Now().UnixMilli()}
	n.replica.read(func(m *fsm.Machine) {
		rec.ClusterId = m.ClusterID()
		if h := m.History(job, 0); h != nil {
			rec.Events, rec.EventsDropped, rec.EventsPartial = eventsToWire(h.GetEvents()), h.GetDropped(), h.GetPartial()
		}
	})
	return rec
}

// readArchive reads a job's archived record (checkpoint.ErrNotFound when
// there is none).
func (n *Node) readArchive(ctx context.Context, job uint64) (*wire.JobArchive, error) {
	key := checkpoint.ArchiveKey(job)
	data, err := n.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	rec := &wire.JobArchive{}
	if err := protojson.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("the archive record %s does not decode: %w", key, err)
	}
	if rec.GetJob() == nil {
		return nil, fmt.Errorf("the archive record %s holds no job", key)
	}
	rec.Job.Archived = true
	return rec, nil
}

// archivedJobs lists the archive's jobs by id (their status without the
// task table).
func (n *Node) archivedJobs(ctx context.Context) ([]*wire.JobStatus, error) {
	keys, err := n.cfg.Store.List(ctx, checkpoint.ArchivePrefix)
	if err != nil {
		return nil, fmt.Errorf("listing the archive: %w", err)
	}
	var out []*wire.JobStatus
	for _, key := range keys {
		job, ok := checkpoint.ArchiveJob(key)
		if !ok {
			continue
		}
		rec, err := n.readArchive(ctx, job)
		if errors.Is(err, checkpoint.ErrNotFound) {
			continue // replaced or deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		rec.Job.Tasks = nil
		out = append(out, rec.GetJob())
	}
	sort.Slice(out, func(a, b int) bool { return out[a].GetJobId() < out[b].GetJobId() })
	return out, nil
}
