package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/checkpoint/redistest"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/node/backup"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// oneRunningJobBackup writes a backup of a state with one submitted job,
// which needs its program bundle from the store.
func oneRunningJobBackup(t *testing.T) string {
	t.Helper()
	m := fsm.New()
	for i, c := range []*pb.Command{
		{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "kappa-test"}}},
		{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc"}}},
	} {
		if r := m.Apply(uint64(i+1), &pb.Entry{Commands: []*pb.Command{c}})[0]; r.GetError() != nil {
			t.Fatalf("command %d: %v", i, r.GetError())
		}
	}
	state, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	b, err := backup.FromWire(&wire.BackupHeader{ClusterId: m.ClusterID(), Index: m.AppliedIndex(), Term: 1,
		StateHash: m.StateHash(), Size: uint64(len(state)), RunningJobs: 1, Jobs: 1}, state)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "state.backup")
	if err := b.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	return file
}

// verify reaches a password-protected Redis with the password from a file,
// as kappa server does, and never prints the password.
func TestBackupVerifyReadsTheStorePasswordFromAFile(t *testing.T) {
	const password = "verify-Pa55-7c1e"
	srv := redistest.StartWithPassword(t, password)
	file := oneRunningJobBackup(t)
	store := "redis://" + srv.Addr + "/0"

	without := kappa(t, "backup", "verify", file, "--store", store)
	if without.code == 0 || !strings.Contains(without.stderr, "NOAUTH") {
		t.Fatalf("verify without the password: exit %d\n%s%s", without.code, without.stdout, without.stderr)
	}
	with := kappa(t, "backup", "verify", file, "--store", store, "--store-password-file", writeSecret(t, "store.pw", password))
	if with.code != 1 || !strings.Contains(with.stdout, "missing  j1  programs/") {
		t.Fatalf("verify with the password against an empty store: exit %d\n%s%s", with.code, with.stdout, with.stderr)
	}
	for _, r := range []result{without, with} {
		if strings.Contains(r.stdout+r.stderr, password) {
			t.Fatalf("the store password is in verify's output:\n%s%s", r.stdout, r.stderr)
		}
	}
}
