package fsm

import (
	"errors"
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func TestEveryKnownCommandIsWithinThisBuildsVersion(t *testing.T) {
	oneof := (&pb.Command{}).ProtoReflect().Descriptor().Oneofs().ByName("op")
	for i := 0; i < oneof.Fields().Len(); i++ {
		f := oneof.Fields().Get(i)
		if v := commandSince[int32(f.Number())]; v > CommandVersion {
			t.Errorf("command %s is listed at version %d, newer than this build's %d", f.Name(), v, CommandVersion)
		}
	}
	if v := RequiredVersion(&pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 1}}}); v != 1 {
		t.Fatalf("SetClusterVersion needs version %d, want 1 (it must be usable by the first versioned build)", v)
	}
}

func TestAnEntryNewerThanThisBuildIsRefusedNotApplied(t *testing.T) {
	m := New()
	newer := &pb.Entry{Version: CommandVersion + 1, Commands: []*pb.Command{{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c1"}}}}}
	err := m.CheckEntry(42, newer)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Need != CommandVersion+1 || ve.Know != CommandVersion {
		t.Fatalf("CheckEntry = %v, want a VersionError needing %d", err, CommandVersion+1)
	}
	for _, want := range []string{"log entry 42", "upgrade this node"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := m.CheckEntry(43, &pb.Entry{Version: CommandVersion}); err != nil {
		t.Fatalf("an entry of this build's version was refused: %v", err)
	}
	if err := m.CheckEntry(44, &pb.Entry{}); err != nil {
		t.Fatalf("an entry without a version (the first command set) was refused: %v", err)
	}
}

func TestAMachineCappedToAnOlderVersionRefusesWhatThatBuildWouldNot(t *testing.T) {
	m := New()
	m.SetMaxVersion(1)
	if m.MaxVersion() != 1 {
		t.Fatalf("MaxVersion = %d", m.MaxVersion())
	}
	if err := m.CheckEntry(1, &pb.Entry{Version: 2}); err == nil {
		t.Fatal("a machine capped at 1 applied a version-2 entry")
	}
	// A cluster raised past what this machine knows is refused on the next entry.
	m.Apply(2, &pb.Entry{Commands: []*pb.Command{{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 2}}}}})
	if err := m.CheckEntry(3, &pb.Entry{}); err == nil || !strings.Contains(err.Error(), "the cluster") {
		t.Fatalf("CheckEntry after the cluster moved to 2 = %v, want a refusal naming the cluster", err)
	}
}

func TestClusterVersionNeverGoesDown(t *testing.T) {
	l := newLog(t)
	if v := l.m.ClusterVersion(); v != 1 {
		t.Fatalf("a new cluster's version is %d, want 1", v)
	}
	l.ok(&pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 3}}})
	r := l.apply(&pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 2}}})
	if r.GetError().GetCode() != pb.ErrorCode_INVALID || l.m.ClusterVersion() != 3 {
		t.Fatalf("lowering the cluster version: result %v, version %d", r, l.m.ClusterVersion())
	}
}

func TestSnapshotsCarryTheirVersionAndNewerOnesAreRefused(t *testing.T) {
	l := newLog(t)
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c1"}}})
	st := l.m.State()
	if st.GetVersion() != SnapshotVersion {
		t.Fatalf("snapshot version %d, want %d", st.GetVersion(), SnapshotVersion)
	}
	st.Version = SnapshotVersion + 1
	data, err := deterministic.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var ve *VersionError
	if err := New().Restore(data); !errors.As(err, &ve) || ve.Kind != "snapshot" {
		t.Fatalf("restoring a newer snapshot = %v, want a snapshot VersionError", err)
	}
	// A snapshot of a cluster newer than a capped machine knows is refused too.
	st.Version, st.ClusterVersion = SnapshotVersion, 2
	data, _ = deterministic.Marshal(st)
	capped := New()
	capped.SetMaxVersion(1)
	if err := capped.Restore(data); !errors.As(err, &ve) || ve.Kind != "command" {
		t.Fatalf("a capped machine restoring a version-2 cluster = %v", err)
	}
	// The state hash does not depend on the snapshot layout's version.
	before := l.m.StateHash()
	st = l.m.State()
	st.Version = 0
	data, _ = deterministic.Marshal(st)
	older := New()
	if err := older.Restore(data); err != nil {
		t.Fatal(err)
	}
	if older.StateHash() != before {
		t.Fatal("restoring a snapshot written without a layout version changed the state hash")
	}
}

func TestTaskCredentialsAndOwnersNeedVersion2(t *testing.T) {
	for name, c := range map[string]*pb.Command{
		"launch with a secret hash": {Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: 1, TaskId: 1, Epoch: 1, InvocationId: "i", SecretHash: []byte{1}}}},
		"submit with an owner":      {Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p", Owner: "alice"}}},
	} {
		if v := RequiredVersion(c); v != 2 {
			t.Errorf("%s needs version %d, want 2", name, v)
		}
	}
	for name, c := range map[string]*pb.Command{
		"launch without a secret hash": {Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: 1, TaskId: 1, Epoch: 1, InvocationId: "i"}}},
		"submit without an owner":      {Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}},
	} {
		if v := RequiredVersion(c); v != 1 {
			t.Errorf("%s needs version %d, want 1 (what an old leader proposes)", name, v)
		}
	}
}

// A root's result stored by key is a field of Exit that an old replica
// would drop (recording an empty result): it needs version 2, and the
// job then refers to the key, so garbage collection keeps it.
func TestAStoredResultIsVersion2AndReferenced(t *testing.T) {
	exit := &pb.Exit{ResultJsonKey: "jobs/j1/t1/e1-s1-json0.val", ResultJsonBytes: 300000}
	if v := RequiredVersion(&pb.Command{Op: &pb.Command_Call{Call: &pb.TaskCall{Op: &pb.TaskCall_Exit{Exit: exit}}}}); v != 2 {
		t.Fatalf("an exit with a stored result needs version %d, want 2", v)
	}
	if v := RequiredVersion(&pb.Command{Op: &pb.Command_Call{Call: &pb.TaskCall{Op: &pb.TaskCall_Exit{Exit: &pb.Exit{ResultJson: "1"}}}}}); v != 1 {
		t.Fatalf("an inline result needs version %d, want 1", v)
	}
	l := newLog(t)
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	w.call(exit)
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_SUCCEEDED || j.GetResultJsonKey() != exit.ResultJsonKey || j.GetResultJsonBytes() != 300000 || j.GetResultJson() != "" {
		t.Fatalf("job %v", j)
	}
	if !l.m.Refs(job).Keys[exit.ResultJsonKey] {
		t.Fatal("the stored result is not among the job's references")
	}
}
