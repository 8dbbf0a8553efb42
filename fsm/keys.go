package fsm

import (
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// The cluster's key configuration: which key id seals new blobs, and the
// public fingerprint of every key id. The keys themselves are in each
// node's key file and never here. A cluster created before key files also
// has a legacy cluster-wide key (InitCluster.key), kept only while a job
// that may have sealed blobs with it is in the state.

// keyConfig is the replicated part.
type keyConfig struct {
	current string
	checks  map[string]string // key id → fingerprint
	// legacy is the cluster-wide key of a cluster created at command
	// version 1; legacyUntil the first job id that never used it (0: keys
	// not set yet, so every job uses it).
	legacy      []byte
	legacyUntil uint64
}

func (m *Machine) setKeys(s *pb.SetKeys) *pb.Result {
	if s.GetCurrentId() == "" {
		return fail(pb.ErrorCode_INVALID, "set keys: no current key id")
	}
	incoming := map[string]string{}
	for _, c := range s.GetChecks() {
		if c.GetId() == "" || c.GetFingerprint() == "" {
			return fail(pb.ErrorCode_INVALID, "set keys: a key check needs an id and a fingerprint")
		}
		if have, ok := m.keys.checks[c.GetId()]; ok && have != c.GetFingerprint() {
			return fail(pb.ErrorCode_INVALID, "set keys: key id %q already names another key (fingerprint %.16s…, not %.16s…); a key id is never reused",
				c.GetId(), have, c.GetFingerprint())
		}
		incoming[c.GetId()] = c.GetFingerprint()
	}
	if _, ok := incoming[s.GetCurrentId()]; !ok {
		if _, known := m.keys.checks[s.GetCurrentId()]; !known {
			return fail(pb.ErrorCode_INVALID, "set keys: key id %q has no fingerprint", s.GetCurrentId())
		}
	}
	if m.keys.checks == nil {
		m.keys.checks = map[string]string{}
	}
	for id, fp := range incoming {
		m.keys.checks[id] = fp
	}
	m.keys.current = s.GetCurrentId()
	if m.keys.legacy != nil && m.keys.legacyUntil == 0 {
		m.keys.legacyUntil = m.nextJobID
	}
	m.dropUnusedLegacyKey()
	return &pb.Result{}
}

// dropUnusedLegacyKey forgets the legacy key once no job that may have
// used it is left in the state.
func (m *Machine) dropUnusedLegacyKey() {
	if m.keys.legacy == nil || m.keys.legacyUntil == 0 {
		return
	}
	for id := range m.jobs {
		if id < m.keys.legacyUntil {
			return
		}
	}
	m.keys.legacy = nil
}

// KeyID is the key id new blobs are sealed with ("" while the cluster has
// no key configuration: below command version 2).
func (m *Machine) KeyID() string { return m.keys.current }

// KeyChecks lists every key id the cluster knows with its fingerprint, by id.
func (m *Machine) KeyChecks() []*pb.KeyCheck { return m.keys.list() }

func (k *keyConfig) list() []*pb.KeyCheck {
	ids := make([]string, 0, len(k.checks))
	for id := range k.checks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*pb.KeyCheck, len(ids))
	for i, id := range ids {
		out[i] = &pb.KeyCheck{Id: id, Fingerprint: k.checks[id]}
	}
	return out
}

// KeyFingerprint is the fingerprint the cluster knows for a key id ("" if none).
func (m *Machine) KeyFingerprint(id string) string { return m.keys.checks[id] }

// LegacyKey is the cluster-wide key of a cluster created before key files,
// when job may hold blobs sealed with it; nil otherwise.
func (m *Machine) LegacyKey(job uint64) []byte {
	if m.keys.legacy == nil || (m.keys.legacyUntil != 0 && job >= m.keys.legacyUntil) {
		return nil
	}
	return append([]byte(nil), m.keys.legacy...)
}

func (k *keyConfig) toState(s *pb.State) {
	s.ClusterKey = append([]byte(nil), k.legacy...)
	s.KeyId = k.current
	s.KeyChecks = k.list()
	s.LegacyKeyUntilJob = k.legacyUntil
}

func (k *keyConfig) fromState(s *pb.State) {
	k.legacy = s.GetClusterKey()
	k.current = s.GetKeyId()
	k.legacyUntil = s.GetLegacyKeyUntilJob()
	k.checks = map[string]string{}
	for _, c := range s.GetKeyChecks() {
		k.checks[c.GetId()] = c.GetFingerprint()
	}
}
