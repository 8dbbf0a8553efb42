package fsm

import (
	"fmt"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func notBusy(TaskKey) bool { return false }

// bigJob submits a job (of the given priority) whose root spawned n
// children and then parked waiting for them: n tasks are runnable, and
// none holds a lambda.
func (l *log) bigJob(n int, priority uint32) uint64 {
	l.t.Helper()
	job := l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p", Priority: priority}}}).GetJobId()
	root, _ := l.start(job, RootTask, 1)
	children := make([]*pb.Child, n)
	futures := make([]uint64, n)
	for i := range children {
		children[i] = &pb.Child{Start: inline(fmt.Sprint(i))}
		futures[i] = uint64(i + 2)
	}
	root.call(&pb.Spawn{Children: children})
	root.call(&pb.Wait{Futures: futures})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	return job
}

// launchNext launches what NextLaunches names first, as a leader with one
// free slot does, and returns it.
func (l *log) launchNext() TaskKey {
	l.t.Helper()
	next := l.m.NextLaunches(1, notBusy, 0)
	if len(next) != 1 {
		l.t.Fatalf("nothing to launch")
	}
	k := next[0]
	l.launch(k.Job, k.Task, l.task(k.Job, k.Task).GetEpoch()+1)
	return k
}

// A job that queued thousands of tasks does not hold back another job's
// one task: it is the next launch, and then the big job's turn comes
// again.
func TestASmallJobLaunchesNextWhateverABigJobQueued(t *testing.T) {
	l := newLog(t)
	l.version2()
	big := l.bigJob(5000, 0)
	for i := 0; i < 3; i++ {
		if k := l.launchNext(); k.Job != big {
			t.Fatalf("launch %d went to %v; only the big job has runnable tasks", i, k)
		}
	}
	small := l.submit()
	if k := l.launchNext(); k != (TaskKey{small, RootTask}) {
		t.Fatalf("the next launch went to %v, not the small job's root", k)
	}
	if k := l.launchNext(); k.Job != big {
		t.Fatalf("after the small job, the big job's turn: got %v", k)
	}
}

// Jobs take turns: three jobs with queued tasks get launches in rotation,
// and a job's own tasks go first made runnable, first launched.
func TestLaunchesRotateAcrossJobs(t *testing.T) {
	l := newLog(t)
	l.version2()
	a, b, c := l.bigJob(10, 0), l.bigJob(10, 0), l.bigJob(10, 0)
	var order []uint64
	next := map[uint64]uint64{a: 2, b: 2, c: 2}
	for i := 0; i < 12; i++ {
		k := l.launchNext()
		if k.Task != next[k.Job] {
			t.Fatalf("job j%d launched t%d, want t%d (its queue order)", k.Job, k.Task, next[k.Job])
		}
		next[k.Job]++
		order = append(order, k.Job)
	}
	for i := 3; i < len(order); i++ {
		if order[i] != order[i-3] {
			t.Fatalf("launches do not rotate across the three jobs: %v", order)
		}
	}
}

// A job of priority 3 gets three launches for each of a priority-1 job's
// while both have tasks waiting.
func TestPriorityWeighsTheShareOfLaunches(t *testing.T) {
	l := newLog(t)
	l.version2()
	low, high := l.bigJob(100, 1), l.bigJob(100, 3)
	got := map[uint64]int{}
	for i := 0; i < 80; i++ {
		got[l.launchNext().Job]++
	}
	if got[high] != 60 || got[low] != 20 {
		t.Fatalf("launches: priority 3 got %d, priority 1 got %d; want 60 and 20", got[high], got[low])
	}
}

// A job that comes back with runnable tasks after a pause starts from the
// pass of the job launched last, not from its old pass: it gets its turn,
// not a burst that makes up for the time it had nothing to run.
func TestAReturningJobGetsItsTurnNotABurst(t *testing.T) {
	l := newLog(t)
	l.version2()
	quiet := l.submit()
	w, _ := l.start(quiet, RootTask, 1)
	busy := l.bigJob(200, 0)
	for i := 0; i < 100; i++ {
		l.launchNext()
	}
	// The quiet job spawns 50 tasks now.
	children := make([]*pb.Child, 50)
	for i := range children {
		children[i] = &pb.Child{Start: inline("x")}
	}
	w.call(&pb.Spawn{Children: children})
	got := map[uint64]int{}
	for i := 0; i < 20; i++ {
		got[l.launchNext().Job]++
	}
	if got[quiet] > 11 || got[busy] < 9 {
		t.Fatalf("after coming back, the quiet job got %d of 20 launches and the busy one %d: want them to alternate", got[quiet], got[busy])
	}
}

// Launches the leader has in flight count as the job's turns, and a job
// at its running limit is passed over.
func TestNextLaunchesSkipsBusyTasksAndFullJobs(t *testing.T) {
	l := newLog(t)
	l.version2()
	a := l.bigJob(10, 0)
	b := l.bigJob(10, 0)
	inFlight := map[TaskKey]bool{{a, 2}: true, {a, 3}: true}
	busy := func(k TaskKey) bool { return inFlight[k] }
	got := l.m.NextLaunches(3, busy, 0)
	if fmt.Sprint(got) != fmt.Sprint([]TaskKey{{b, 2}, {b, 3}, {a, 4}}) {
		t.Fatalf("with two of j%d's launches in flight: %v", a, got)
	}
	// Job a has 2 in flight; with a limit of 3 running per job it may
	// start one more; b (none running) may start 3.
	got = l.m.NextLaunches(10, busy, 3)
	if fmt.Sprint(got) != fmt.Sprint([]TaskKey{{b, 2}, {b, 3}, {a, 4}, {b, 4}}) {
		t.Fatalf("with a limit of 3 lambdas per job: %v", got)
	}
}

// After a restore, the launch order is the one the log gave: each job's
// tasks in the order they became runnable, not by id.
func TestRestoredMachineLaunchesInTheSameOrder(t *testing.T) {
	l := newLog(t)
	l.version2()
	job := l.bigJob(3, 0)
	// t4 runs and yields, then t2 and t3 do: the queue is t4, t2, t3.
	for _, id := range []uint64{4, 2, 3} {
		w, _ := l.start(job, id, 1)
		w.call(&pb.Yield{})
	}
	want := l.m.NextLaunches(10, notBusy, 0)
	if fmt.Sprint(want) != fmt.Sprint([]TaskKey{{job, 4}, {job, 2}, {job, 3}}) {
		t.Fatalf("queue order %v", want)
	}
	if got := viaSnapshot(t, l.m).NextLaunches(10, notBusy, 0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored order %v, want %v", got, want)
	}
}

// Below version 2 nothing of the fair bookkeeping is written: a replica
// of the new build applies an old log exactly as the old build does, and
// the move to version 2 makes every replica build the same order.
func TestFairBookkeepingWaitsForVersion2(t *testing.T) {
	l := newLog(t)
	job := l.bigJob(5, 0)
	w, _ := l.start(job, 3, 1)
	w.call(&pb.Yield{})
	for _, task := range l.m.State().GetTasks() {
		if task.GetRunnableSeq() != 0 {
			t.Fatalf("version 1 stamped task t%d", task.GetId())
		}
	}
	if l.m.Job(job).GetPass() != 0 {
		t.Fatal("version 1 moved a job's pass")
	}
	old := New()
	old.SetMaxVersion(1)
	replay(t, l.entries, 0, old)
	if old.StateHash() != l.m.StateHash() {
		t.Fatal("a build capped at version 1 and this one disagree on a version-1 log")
	}
	l.version2()
	// The live queue had t3 last (it yielded); from version 2 on, the
	// order is the one a restore gives: unstamped tasks by id.
	if got := l.m.NextLaunches(10, notBusy, 0); fmt.Sprint(got) != fmt.Sprint([]TaskKey{{job, 2}, {job, 3}, {job, 4}, {job, 5}, {job, 6}}) {
		t.Fatalf("order after the move to version 2: %v", got)
	}
}

// What choosing the next launches costs the leader per cycle, as the
// runnable tasks grow: NextLaunches stays flat (it depends on the jobs
// waiting and the launches chosen), where sorting every runnable task (the
// launch loop's old way, Runnable) grows with them. docs/benchmarks.md
// quotes it:
//
//	go test -run '^$' -bench NextLaunches ./fsm
func BenchmarkNextLaunches(b *testing.B) {
	for _, runnable := range []int{1_000, 20_000, 200_000} {
		l := newLog(b)
		l.version2()
		for j := 0; j < 10; j++ {
			l.bigJob(runnable/10, 0)
		}
		b.Run(fmt.Sprintf("fair-2-of-%d", runnable), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l.m.NextLaunches(2, notBusy, 0)
			}
		})
		b.Run(fmt.Sprintf("sorted-all-%d", runnable), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l.m.Runnable()
			}
		})
	}
}
