package fsm

import (
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// The cluster clock is the largest clock a command carried: a command
// stamped lower (a batch formed out of order, a lagging proposer) never
// moves it back. A job finished from version 2 on records it; one
// finished before does not (its retention is judged as it was).
func TestTheClusterClockNeverGoesBackAndFinishedJobsRecordIt(t *testing.T) {
	l := newLog(t)
	before := l.submit()
	l.ok(&pb.Command{Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: before}}})
	if j := l.m.Job(before); j.GetFinishedClockMs() != 0 || j.GetFinishedUnixMs() == 0 {
		t.Fatalf("a job finished under version 1: %v", j)
	}
	l.version2()
	job := l.submit()
	at := l.m.Clock()
	l.clock = false
	l.ok(&pb.Command{ClockMs: at - 500, Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job}}})
	if l.m.Clock() != at {
		t.Fatalf("the clock went from %d to %d", at, l.m.Clock())
	}
	if got := l.m.Job(job).GetFinishedClockMs(); got != at {
		t.Fatalf("the job finished at cluster clock %d, recorded %d", at, got)
	}
	if l.m.Job(before).GetFinishedClockMs() != 0 {
		t.Fatal("the move to version 2 rewrote an old job's finish")
	}
}
