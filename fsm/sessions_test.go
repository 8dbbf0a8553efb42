package fsm

import (
	"fmt"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func cancelFrom(client string, job uint64) *pb.Command {
	return &pb.Command{ClientId: client, RequestId: 1, Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job}}}
}

func snapshotSize(t *testing.T, m *Machine) int {
	data, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

// Two thousand clients cancelling a job that does not exist leave no
// session behind: a refusal changed nothing, so it is not remembered. (A
// build of version 1 kept every one of them.)
func TestRefusedClientWritesLeaveNoSession(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		l := newLog(t)
		if v2 {
			l.version2()
		}
		l.submit()
		before := snapshotSize(t, l.m)
		for i := 0; i < 2000; i++ {
			l.refused(cancelFrom(fmt.Sprintf("stranger-%d", i), 999), pb.ErrorCode_NOT_FOUND)
		}
		grew := snapshotSize(t, l.m) - before
		t.Logf("version 2: %v; 2,000 refused cancels: %d sessions, the snapshot grew by %d bytes", v2, l.m.Sessions(), grew)
		switch {
		case v2 && (l.m.Sessions() != 0 || grew > 64):
			t.Fatalf("%d sessions remain and the snapshot grew by %d bytes", l.m.Sessions(), grew)
		case !v2 && l.m.Sessions() != 2000:
			t.Fatalf("version 1 keeps every session; it kept %d", l.m.Sessions())
		}
	}
}

// A session is recognized for its lifetime of cluster clock: a retry
// within it gets the stored result; after it the client is forgotten.
func TestIdleSessionsExpireByTheClusterClock(t *testing.T) {
	l := newLog(t)
	l.version2()
	submit := &pb.Command{ClientId: "cli", RequestId: 1, Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}}
	first := l.ok(submit).GetJobId()
	l.now += SessionLifetimeMs - 100
	if again := l.ok(submit).GetJobId(); again != first || l.m.Sessions() != 1 {
		t.Fatalf("a retry within the session's lifetime applied again: job %d, then %d", first, again)
	}
	// The retry above did not renew the session: it was not applied.
	l.now += 200
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c"}}})
	if n := l.m.Sessions(); n != 0 {
		t.Fatalf("%d sessions after their lifetime", n)
	}
}

// Beyond MaxSessions the least recently used sessions go, clients of the
// same clock tick by id, identically on a replica that restored a
// snapshot midway: the table is bounded and the replicas agree.
func TestTheSessionTableIsCappedAlikeOnEveryReplica(t *testing.T) {
	var entries []*pb.Entry
	clock := int64(1000)
	v2 := &pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 2}}}
	entries = append(entries, &pb.Entry{Commands: []*pb.Command{v2}})
	for i := 0; i < MaxSessions/3+100; i++ {
		// Three clients per entry, of one clock, named in descending order
		// (the cap, not a multiple of three, cuts through such a group).
		e := &pb.Entry{}
		clock += 3
		for k := 2; k >= 0; k-- {
			e.Commands = append(e.Commands, &pb.Command{ClientId: fmt.Sprintf("client-%06d-%d", i, k), RequestId: 1, ClockMs: clock,
				Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}})
		}
		entries = append(entries, e)
	}
	whole := New()
	replay(t, entries, 0, whole)
	if n := whole.Sessions(); n != MaxSessions {
		t.Fatalf("%d sessions, want the cap %d", n, MaxSessions)
	}
	if whole.sessions["client-000000-2"] != nil || whole.sessions["client-000101-0"] == nil {
		t.Fatal("the cap did not drop the least recently used sessions first")
	}
	half := New()
	replay(t, entries[:len(entries)/2], 0, half)
	again := viaSnapshot(t, half)
	replay(t, entries, len(entries)/2, again)
	if again.StateHash() != whole.StateHash() {
		t.Fatal("a replica that restored a snapshot midway forgot other sessions")
	}
}

// Sessions from before version 2 start their lifetime at the cluster
// clock's first tick, however large it is (a leader's uptime), so a
// client retrying across the upgrade is still recognized.
func TestSessionsFromBeforeTheClockLiveTheirLifetimeFromItsFirstTick(t *testing.T) {
	l := newLog(t)
	submit := &pb.Command{ClientId: "cli", RequestId: 1, Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p"}}}
	first := l.ok(submit).GetJobId()
	l.version2()
	l.now += 3 * 24 * 3600 * 1000 // the first clock: three days of a leader's uptime
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c"}}})
	if again := l.ok(submit).GetJobId(); again != first {
		t.Fatalf("the retry across the upgrade applied again: job %d, then %d", first, again)
	}
	l.now += SessionLifetimeMs + 1
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c"}}})
	if n := l.m.Sessions(); n != 0 {
		t.Fatalf("%d sessions a lifetime after the first tick", n)
	}
}
