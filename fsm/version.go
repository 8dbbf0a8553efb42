package fsm

import (
	"fmt"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Versions of what replicas exchange. A replica that met a log entry or a
// snapshot newer than it knows would apply it wrongly and diverge in
// silence, so it refuses instead; and the leader proposes a command only
// when every voter knows it (the cluster version, see SetClusterVersion).
const (
	// CommandVersion is the newest command set this build applies.
	// 1: the first versioned command set.
	// 2: job histories (LeaderChanged, SubmitJob.history_limit, the lease
	// expiry outcome), RetryJob and SetDrain (members kept off leadership);
	// Launch.secret_hash (task credentials), SubmitJob.owner; SetKeys (keys
	// from the nodes' key files; no key in InitCluster);
	// Exit.result_json_key (a root's result stored by key); SetStore (one
	// store per cluster) and RelaunchAll (restore, lost quorum recovery).
	// 2 also: quotas, priorities and the cluster clock in commands; fair
	// launch order, bounded sessions and retention by cluster clock.
	// 3: TaskCall.claim_invocation (a deferred claim travels with the
	// task's first call, an exit or a fail).
	CommandVersion uint32 = 3
	// SnapshotVersion is the newest snapshot layout this build restores.
	SnapshotVersion uint32 = 1
)

// commandSince is the command version that introduced each command kind
// (by its field number in Command's oneof). Kinds not listed are version 1.
// A kind added later is listed here with the version it bumps to, and a new
// field of an existing kind is reported by fieldsSince.
var commandSince = map[int32]uint32{
	60: 2, // LeaderChanged
	61: 2, // RetryJob
	62: 2, // SetDrain
	80: 2, // SetKeys
	63: 2, // SetStore
	64: 2, // RelaunchAll
}

// fieldsSince reports the version a command needs because of fields added
// to an existing kind after version 1.
func fieldsSince(c *pb.Command) uint32 {
	switch {
	case c.GetSubmitJob().GetHistoryLimit() != 0,
		c.GetInvocationEnded().GetOutcome() == pb.Outcome_OUTCOME_LEASE_EXPIRED,
		len(c.GetLaunch().GetSecretHash()) > 0, c.GetSubmitJob().GetOwner() != "",
		c.GetQuotas() != nil, c.GetClockMs() != 0, c.GetSubmitJob().GetPriority() != 0:
		return 2
	case c.GetCall().GetClaimInvocation() != "":
		return 3 // an old replica would refuse the call as unclaimed
	case c.GetCall().GetExit().GetResultJsonKey() != "":
		return 2 // an old replica would record an empty result
	}
	return 1
}

// RequiredVersion is the command version a replica must know to apply c.
func RequiredVersion(c *pb.Command) uint32 {
	v := uint32(1)
	if desc := c.ProtoReflect().WhichOneof(c.ProtoReflect().Descriptor().Oneofs().ByName("op")); desc != nil {
		if s, ok := commandSince[int32(desc.Number())]; ok && s > v {
			v = s
		}
	}
	if s := fieldsSince(c); s > v {
		v = s
	}
	return v
}

// EntryVersion is the version an entry of these commands needs.
func EntryVersion(cmds []*pb.Command) uint32 {
	v := uint32(1)
	for _, c := range cmds {
		if r := RequiredVersion(c); r > v {
			v = r
		}
	}
	return v
}

// VersionError is a log entry, snapshot or cluster this replica is too old
// for. The node stops rather than apply it.
type VersionError struct {
	What       string // "log entry 42", "snapshot at index 42", "the cluster"
	Need, Know uint32
	Kind       string // "command" or "snapshot"
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s needs %s version %d; this node knows up to %d: upgrade this node's kappa binary before it rejoins (docs/upgrade.md)",
		e.What, e.Kind, e.Need, e.Know)
}

// CheckEntry refuses an entry this machine is too old to apply. The node
// calls it before Apply, outside the deterministic state.
func (m *Machine) CheckEntry(index uint64, e *pb.Entry) error {
	if v := e.GetVersion(); v > m.maxVersion() {
		return &VersionError{What: fmt.Sprintf("log entry %d", index), Kind: "command", Need: v, Know: m.maxVersion()}
	}
	if v := m.ClusterVersion(); v > m.maxVersion() {
		return &VersionError{What: "the cluster", Kind: "command", Need: v, Know: m.maxVersion()}
	}
	return nil
}

// SetMaxVersion makes this machine act as a build that knows only command
// versions up to v (tests of mixed-version clusters; 0: CommandVersion).
func (m *Machine) SetMaxVersion(v uint32) { m.knownVersion = v }

// MaxVersion is the newest command version this machine applies.
func (m *Machine) MaxVersion() uint32 { return m.maxVersion() }

func (m *Machine) maxVersion() uint32 {
	if m.knownVersion == 0 || m.knownVersion > CommandVersion {
		return CommandVersion
	}
	return m.knownVersion
}

// ClusterVersion is the newest command version every voter reported: the
// leader proposes nothing newer.
func (m *Machine) ClusterVersion() uint32 {
	if m.clusterVersion == 0 {
		return 1
	}
	return m.clusterVersion
}

func (m *Machine) setClusterVersion(s *pb.SetClusterVersion) *pb.Result {
	if s.GetVersion() < m.ClusterVersion() {
		return fail(pb.ErrorCode_INVALID, "the cluster version never goes down: it is %d, not %d", m.ClusterVersion(), s.GetVersion())
	}
	was := m.ClusterVersion()
	m.clusterVersion = s.GetVersion()
	if was < 2 && m.atLeast(2) {
		m.startVersion2()
	}
	return &pb.Result{}
}

// startVersion2 sets up what version 2 keeps from the entry that turns it
// on: the derived orders are rebuilt the way Restore builds them, so a
// replica that restored a snapshot and one that applied the log agree.
// (Jobs finished before it have no cluster-clock finish; the leader judges
// their retention by the wall clock, as before.)
func (m *Machine) startVersion2() {
	m.rebuildRunnable()
	m.rebuildSessionAge()
}

// atLeast says whether the cluster runs command version v: Apply keeps
// the behaviour of older versions until every voter knows the newer one,
// so replicas of mixed builds stay identical.
func (m *Machine) atLeast(v uint32) bool { return m.ClusterVersion() >= v }
