package fsm

import (
	"fmt"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// InvocationEndMatters is the leader's reason to skip committing an
// invocation's end: wherever it says false, applying the end changes no
// task state (it is ignored, or notes only the outcome); wherever it says
// true, the end is applied (a launched or running task is relaunched, a
// blocked one parks).
func TestAnInvocationEndMattersOnlyWhileItsLaunchIsCurrent(t *testing.T) {
	type scene struct {
		name   string
		matter bool
		// set up the child's epoch 1 (launched); returns the epoch whose end is told
		setup func(l *log, job, child uint64) uint64
	}
	scenes := []scene{
		{"launched, not claimed", true, func(l *log, job, child uint64) uint64 { return 1 }},
		{"claimed and running", true, func(l *log, job, child uint64) uint64 {
			l.ok(claimCmd(job, child, 1, fmt.Sprintf("inv-%d-%d-1", job, child), "n1"))
			return 1
		}},
		{"exited", false, func(l *log, job, child uint64) uint64 {
			l.ok(deferredExit(l, job, child, 1, fmt.Sprintf("inv-%d-%d-1", job, child), "n1", inline("v")))
			return 1
		}},
		{"yielded", false, func(l *log, job, child uint64) uint64 {
			l.ok(claimCmd(job, child, 1, fmt.Sprintf("inv-%d-%d-1", job, child), "n1"))
			w := &worker{l: l, ref: &pb.TaskRef{JobId: job, TaskId: child, Epoch: 1, Claim: "n1"}}
			w.call(&pb.Yield{})
			return 1
		}},
		{"relaunched since", false, func(l *log, job, child uint64) uint64 {
			l.ok(ended(job, child, 1, pb.Outcome_OUTCOME_CRASH))
			l.launch(job, child, 2)
			return 1
		}},
	}
	for _, s := range scenes {
		t.Run(s.name, func(t *testing.T) {
			l := newLog(t)
			job := l.submit()
			root, _ := l.start(job, RootTask, 1)
			child := root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("f")}}}).GetSpawned().GetTaskIds()[0]
			l.launch(job, child, 1)
			epoch := s.setup(l, job, child)
			inv := fmt.Sprintf("inv-%d-%d-%d", job, child, epoch)
			if got := l.m.InvocationEndMatters(job, child, epoch, inv); got != s.matter {
				t.Fatalf("matters = %v, want %v", got, s.matter)
			}
			before := proto.Clone(l.task(job, child)).(*pb.Task)
			r := l.ok(ended(job, child, epoch, pb.Outcome_OUTCOME_CRASH))
			after := proto.Clone(l.task(job, child)).(*pb.Task)
			before.LastOutcome, after.LastOutcome = "", ""
			if changed := !proto.Equal(before, after); changed != s.matter || r.GetIgnored() == s.matter {
				t.Fatalf("applying the end: changed %v, ignored %v (matters %v)\nbefore %v\nafter  %v", changed, r.GetIgnored(), s.matter, before, after)
			}
		})
	}
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.exit(`"done"`)
	if l.m.InvocationEndMatters(job, RootTask, 1, fmt.Sprintf("inv-%d-%d-1", job, RootTask)) {
		t.Fatal("the end of a finished job's invocation matters")
	}
}
