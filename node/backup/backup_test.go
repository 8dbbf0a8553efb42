package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

const (
	pointer       = "jobs/j1/t1/e1-s1.ckpt"
	failedPointer = "jobs/j3/t1/e1-s1.ckpt"
)

// runningState is a machine with one running job whose root task
// checkpointed once, one cancelled job, and one job whose root task
// checkpointed and then failed.
func runningState(t *testing.T) *fsm.Machine {
	m := fsm.New()
	ref := &pb.TaskRef{JobId: 1, TaskId: 1, Epoch: 1, Claim: "c"}
	failing := &pb.TaskRef{JobId: 3, TaskId: 1, Epoch: 1, Claim: "c"}
	cmds := []*pb.Command{
		{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "kappa-test"}}},
		{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc"}}},
		{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: 1, TaskId: 1, Epoch: 1, InvocationId: "i"}}},
		{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: 1, TaskId: 1, Epoch: 1, InvocationId: "i", Claim: "c"}}},
		{Op: &pb.Command_Call{Call: &pb.TaskCall{Ref: ref, Seq: 1, CheckpointKey: pointer, Digest: []byte{1},
			Op: &pb.TaskCall_Checkpoint{Checkpoint: &pb.Checkpoint{}}}}},
		{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "def"}}},
		{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: 2}}},
		{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "ghi"}}},
		{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: 3, TaskId: 1, Epoch: 1, InvocationId: "i3"}}},
		{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: 3, TaskId: 1, Epoch: 1, InvocationId: "i3", Claim: "c"}}},
		{Op: &pb.Command_Call{Call: &pb.TaskCall{Ref: failing, Seq: 1, CheckpointKey: failedPointer, Digest: []byte{1},
			Op: &pb.TaskCall_Checkpoint{Checkpoint: &pb.Checkpoint{}}}}},
		{Op: &pb.Command_Call{Call: &pb.TaskCall{Ref: failing, Seq: 2, Op: &pb.TaskCall_Fail{Fail: &pb.Fail{Error: "boom"}}}}},
	}
	for i, c := range cmds {
		if r := m.Apply(uint64(i+1), &pb.Entry{Commands: []*pb.Command{c}})[0]; r.GetError() != nil {
			t.Fatalf("command %d: %v", i, r.GetError())
		}
	}
	return m
}

func backupOf(t *testing.T, m *fsm.Machine) *Backup {
	t.Helper()
	state, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromWire(&wire.BackupHeader{ClusterId: m.ClusterID(), Index: m.AppliedIndex(), Term: 3, StateHash: m.StateHash(),
		Size: uint64(len(state)), RunningJobs: 1, Jobs: 3}, state)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestABackupFileRoundTripsAndRefusesDamage(t *testing.T) {
	m := runningState(t)
	b := backupOf(t, m)
	path := filepath.Join(t.TempDir(), "b.backup")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := got.Machine()
	if err != nil || restored.StateHash() != m.StateHash() || got.Term != 3 {
		t.Fatalf("read back: %v, term %d", err, got.Term)
	}
	if d := got.Describe(); !strings.Contains(d, "kappa-test") || !strings.Contains(d, m.StateHash()) {
		t.Errorf("Describe lacks the cluster or hash:\n%s", d)
	}

	raw, _ := os.ReadFile(path)
	damaged := append([]byte(nil), raw...)
	damaged[len(damaged)-3] ^= 0xff
	truncated := raw[:len(raw)-10]
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"damaged":   {damaged, "the file is damaged"},
		"truncated": {truncated, "truncated or damaged"},
		"other":     {[]byte("hello\n"), "is not a Kappa backup"},
	} {
		p := filepath.Join(t.TempDir(), name)
		os.WriteFile(p, c.data, 0o600)
		if _, err := ReadFile(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s file: %v, want %q", name, err, c.want)
		}
	}
	// A header whose hash is not the state's is refused when decoded.
	b.StateHash = strings.Repeat("0", 64)
	if _, err := b.Machine(); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Errorf("a wrong state hash: %v", err)
	}
}

// The running job needs its program and its task's pointer; the failed
// job needs them only to be retried, and so does the cancelled one (whose
// task never ran: its program only). Verify names what a store lacks.
func TestVerifyNamesTheMissingLiveKeys(t *testing.T) {
	m := runningState(t)
	if s := m.Job(3).GetState(); s != pb.JobState_JOB_FAILED {
		t.Fatalf("job 3 is %v, want failed", s)
	}
	live := LiveKeys(m)
	want := []Ref{{Job: 1, Key: checkpoint.ProgramKey("abc")}, {Job: 1, Key: pointer},
		{Job: 2, Key: checkpoint.ProgramKey("def"), RetryOnly: true}, {Job: 3, Key: checkpoint.ProgramKey("ghi"), RetryOnly: true},
		{Job: 3, Key: failedPointer, RetryOnly: true}}
	if !slices.Equal(live, want) {
		t.Fatalf("live keys %v, want %v", live, want)
	}
	store, err := checkpoint.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range []string{checkpoint.ProgramKey("abc"), checkpoint.ProgramKey("def"), checkpoint.ProgramKey("ghi")} {
		if err := store.Put(ctx, k, []byte("zip")); err != nil {
			t.Fatal(err)
		}
	}
	checked, missing, err := Verify(ctx, store, m)
	if err != nil || checked != 5 || !slices.Equal(missing, []Ref{{Job: 1, Key: pointer}, {Job: 3, Key: failedPointer, RetryOnly: true}}) {
		t.Fatalf("verify: %d checked, missing %v, %v", checked, missing, err)
	}
	store.Put(ctx, pointer, []byte("ckpt"))
	store.Put(ctx, failedPointer, []byte("ckpt"))
	if _, missing, _ := Verify(ctx, store, m); len(missing) != 0 {
		t.Fatalf("missing %v after the keys were written", missing)
	}
}

// A succeeded job whose result is stored by key needs that key (and only
// it): kappa jobs result reads it after a restore.
func TestVerifyNeedsAStoredResult(t *testing.T) {
	m := runningState(t)
	result := checkpoint.ValueKey(4, 1, 1, 1, "json", 0)
	ref := &pb.TaskRef{JobId: 4, TaskId: 1, Epoch: 1, Claim: "c"}
	for i, c := range []*pb.Command{
		{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "jkl"}}},
		{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: 4, TaskId: 1, Epoch: 1, InvocationId: "i4"}}},
		{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: 4, TaskId: 1, Epoch: 1, InvocationId: "i4", Claim: "c"}}},
		{Op: &pb.Command_Call{Call: &pb.TaskCall{Ref: ref, Seq: 1,
			Op: &pb.TaskCall_Exit{Exit: &pb.Exit{ResultJsonKey: result, ResultJsonBytes: 300000}}}}},
	} {
		if r := m.Apply(m.AppliedIndex()+1, &pb.Entry{Commands: []*pb.Command{c}})[0]; r.GetError() != nil {
			t.Fatalf("command %d: %v", i, r.GetError())
		}
	}
	if s := m.Job(4).GetState(); s != pb.JobState_JOB_SUCCEEDED {
		t.Fatalf("job 4 is %v, want succeeded", s)
	}
	var mine []Ref
	for _, r := range LiveKeys(m) {
		if r.Job == 4 {
			mine = append(mine, r)
		}
	}
	if want := []Ref{{Job: 4, Key: result, Result: true}}; !slices.Equal(mine, want) {
		t.Fatalf("the succeeded job needs %v, want %v", mine, want)
	}
}
