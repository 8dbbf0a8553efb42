package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func setKeys(current string, checks ...string) *pb.Command {
	s := &pb.SetKeys{CurrentId: current}
	for i := 0; i+1 < len(checks); i += 2 {
		s.Checks = append(s.Checks, &pb.KeyCheck{Id: checks[i], Fingerprint: checks[i+1]})
	}
	return &pb.Command{Op: &pb.Command_SetKeys{SetKeys: s}}
}

// SetKeys is a version-2 command: a cluster of version-1 voters never
// receives it.
func TestSetKeysNeedsCommandVersion2(t *testing.T) {
	if v := RequiredVersion(setKeys("k1", "k1", "f1")); v != 2 {
		t.Fatalf("SetKeys needs version %d, want 2", v)
	}
	capped := New()
	capped.SetMaxVersion(1)
	if err := capped.CheckEntry(1, &pb.Entry{Version: EntryVersion([]*pb.Command{setKeys("k1", "k1", "f1")})}); err == nil {
		t.Fatal("a version-1 machine would apply SetKeys")
	}
}

// The state holds key ids and fingerprints, never a key; a key id keeps
// its fingerprint for good, and rotation only moves the current id.
func TestKeyConfigurationRotatesAndNeverRebindsAnID(t *testing.T) {
	l := newLog(t)
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c1"}}})
	if l.m.KeyID() != "" || l.m.LegacyKey(1) != nil {
		t.Fatal("a cluster created without a key has key material")
	}
	l.ok(setKeys("k1", "k1", "f1"))
	if l.m.KeyID() != "k1" || l.m.KeyFingerprint("k1") != "f1" {
		t.Fatalf("current %q", l.m.KeyID())
	}
	msg := l.refused(setKeys("k1", "k1", "other"), pb.ErrorCode_INVALID)
	if !strings.Contains(msg, `key id "k1" already names another key`) {
		t.Fatalf("rebinding k1: %s", msg)
	}
	l.refused(setKeys("k9"), pb.ErrorCode_INVALID)
	l.refused(setKeys(""), pb.ErrorCode_INVALID)
	l.ok(setKeys("k2", "k2", "f2"))
	if l.m.KeyID() != "k2" || len(l.m.KeyChecks()) != 2 || l.m.KeyFingerprint("k1") != "f1" {
		t.Fatalf("after rotating to k2: %q %v", l.m.KeyID(), l.m.KeyChecks())
	}
	// Back to a known id needs no new fingerprint.
	l.ok(setKeys("k1"))
	if l.m.KeyID() != "k1" {
		t.Fatalf("current %q", l.m.KeyID())
	}
	restored := New()
	data, _ := l.m.MarshalState()
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	if restored.StateHash() != l.m.StateHash() || restored.KeyID() != "k1" || restored.KeyFingerprint("k2") != "f2" {
		t.Fatal("the key configuration does not survive a snapshot")
	}
	replayMatches(t, l)
}

// A cluster created before key files (InitCluster with a key, version 1)
// keeps its cluster-wide key for the jobs that may have used it, and drops
// it from the state once the last such job is forgotten.
func TestTheLegacyKeyStaysOnlyWhileJobsThatUsedItRemain(t *testing.T) {
	l := newLog(t)
	legacy := []byte("0123456789abcdef0123456789abcdef")
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c1", Key: legacy}}})
	old := l.submit()
	if string(l.m.LegacyKey(old)) != string(legacy) || string(l.m.LegacyKey(old+5)) != string(legacy) {
		t.Fatal("before keys are set, every job uses the legacy key")
	}
	l.ok(setKeys("k1", "k1", "f1"))
	newer := l.submit()
	if string(l.m.LegacyKey(old)) != string(legacy) || l.m.LegacyKey(newer) != nil {
		t.Fatal("after keys are set, only older jobs get the legacy key")
	}
	// A snapshot taken now still holds it (the old job may need it).
	data, _ := l.m.MarshalState()
	restored := New()
	if err := restored.Restore(data); err != nil || string(restored.LegacyKey(old)) != string(legacy) {
		t.Fatalf("restore: %v", err)
	}
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: old, Reason: "done"}}})
	l.ok(&pb.Command{Op: &pb.Command_ForgetJob{ForgetJob: &pb.ForgetJob{JobId: old}}})
	if l.m.LegacyKey(old) != nil || len(l.m.State().GetClusterKey()) != 0 {
		t.Fatal("the legacy key outlived the last job that used it")
	}
	replayMatches(t, l)
}

// replayMatches: a machine that applies the same log reaches the same state.
func replayMatches(t *testing.T, l *log) {
	t.Helper()
	m := New()
	replay(t, l.entries, 0, m)
	if m.StateHash() != l.m.StateHash() {
		t.Fatal("replaying the log gives another state")
	}
}
