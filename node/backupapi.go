package node

import (
	"fmt"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// backupChunk is how many state bytes one message of a Backup stream holds.
const backupChunk = 1 << 20

// Backup streams a copy of the state read at an applied index after a
// read-index check, so it holds every write acknowledged before the call.
// Only the leader serves it (streams are not forwarded): the client asks
// any node who leads and calls the leader.
func (a *adminAPI) Backup(req *wire.BackupRequest, stream wire.AdminService_BackupServer) error {
	ctx := stream.Context()
	if req.GetHoldGcMs() < 0 {
		return invalid(ctx, "backup: hold_gc_ms must not be negative")
	}
	// Hold garbage collection before reading: a key the copy references
	// stays in the store while the operator copies the store too.
	if hold := time.Duration(req.GetHoldGcMs()) * time.Millisecond; hold > 0 {
		a.n.holdGC(hold)
	}
	if err := a.n.linearizable(ctx); err != nil {
		return err
	}
	hdr, data, err := a.n.backupState()
	if err != nil {
		return err
	}
	hdr.Term = a.n.raft.CurrentTerm()
	if err := stream.Send(&wire.BackupChunk{Part: &wire.BackupChunk_Header{Header: hdr}}); err != nil {
		return err
	}
	for off := 0; off < len(data); off += backupChunk {
		end := min(off+backupChunk, len(data))
		if err := stream.Send(&wire.BackupChunk{Part: &wire.BackupChunk_Data{Data: data[off:end]}}); err != nil {
			return err
		}
	}
	a.n.log.Info("backup served", "index", hdr.GetIndex(), "bytes", len(data), "state_hash", hdr.GetStateHash(), "hold_gc_ms", req.GetHoldGcMs())
	return nil
}

// backupState marshals the state and describes it, under one read lock so
// the bytes, the index and the hash are of one cut.
func (n *Node) backupState() (*wire.BackupHeader, []byte, error) {
	build := BuildInfo(n.cfg.MaxCommandVersion)
	hdr := &wire.BackupHeader{LeaderId: n.cfg.NodeID, CreatedUnixMs: time.Now().UnixMilli(),
		KappaVersion: build.GetVersion(), KappaCommit: build.GetCommit(), SnapshotVersion: fsm.SnapshotVersion}
	var data []byte
	var err error
	n.replica.read(func(m *fsm.Machine) {
		if data, err = m.MarshalState(); err != nil {
			return
		}
		hdr.Index, hdr.StateHash, hdr.ClusterId, hdr.CommandVersion = m.AppliedIndex(), m.StateHash(), m.ClusterID(), m.ClusterVersion()
		if hdr.Store, _ = m.Store(); hdr.Store == "" {
			hdr.Store = n.storeID
		}
		for _, j := range m.Jobs() {
			hdr.Jobs++
			if j.GetState() == pb.JobState_JOB_RUNNING {
				hdr.RunningJobs++
			}
		}
		_, tasks := m.Size()
		hdr.Tasks = uint64(tasks)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("backup: marshaling the state: %w", err)
	}
	hdr.Size = uint64(len(data))
	return hdr, data, nil
}

// holdGC pauses this leader's garbage collection until now+d (a later
// hold extends it; a new leader starts without one).
func (n *Node) holdGC(d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := n.gcHoldUntil.Load()
		if cur >= until || n.gcHoldUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// gcHeld says whether a backup asked garbage collection to wait.
func (n *Node) gcHeld() bool { return time.Now().UnixNano() < n.gcHoldUntil.Load() }
