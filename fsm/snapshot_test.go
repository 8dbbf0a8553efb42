package fsm

import (
	"fmt"
	"math/rand"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// simulate drives the machine like a leader and its workers would, with
// random choices (crashes, yields, re-sent calls, stale callers), and
// returns the log it produced.
func simulate(t *testing.T, seed int64, steps int) *log {
	rng := rand.New(rand.NewSource(seed))
	l := newLog(t)
	workers := map[TaskKey]*worker{}
	var stale []*worker
	for j := 0; j < 3; j++ {
		l.submit()
	}
	for i := 0; i < steps; i++ {
		if i == steps/3 {
			l.version2()
			l.quotas = &pb.Quotas{MaxTasksPerJob: 30, MaxQueueItemsPerJob: 3}
		}
		if rng.Intn(40) == 0 {
			clientWrite(l, rng)
			continue
		}
		// The leader launches one runnable task: the next in fair order,
		// or any (a leader may launch them in any order).
		if rk := l.m.Runnable(); len(rk) > 0 && rng.Intn(3) == 0 {
			k := rk[rng.Intn(len(rk))]
			if rng.Intn(2) == 0 {
				k = l.m.NextLaunches(1, func(TaskKey) bool { return false }, 0)[0]
			}
			e := l.m.Task(k).GetEpoch() + 1
			w, _ := l.start(k.Job, k.Task, e)
			if old := workers[k]; old != nil {
				stale = append(stale, old)
			}
			workers[k] = w
			continue
		}
		keys := make([]TaskKey, 0, len(workers))
		for k := range workers {
			keys = append(keys, k)
		}
		sortKeys(keys)
		if len(keys) == 0 {
			continue
		}
		k := keys[rng.Intn(len(keys))]
		w := workers[k]
		task := l.m.Task(k)
		switch {
		case task.GetState() == pb.TaskState_TASK_BLOCKED:
			l.apply(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: w.ref, Seq: w.seq}}})
		case task.GetState() != pb.TaskState_TASK_RUNNING:
			delete(workers, k)
		default:
			step(l, rng, w, task, &stale)
		}
	}
	return l
}

// clientWrite is a client's submit (of some priority, under a quota) or
// cancel, sometimes a retry of an earlier request, sometimes refused.
func clientWrite(l *log, rng *rand.Rand) {
	c := &pb.Command{ClientId: fmt.Sprintf("client-%d", rng.Intn(6)), RequestId: uint64(1 + rng.Intn(4))}
	if rng.Intn(2) == 0 {
		c.Op = &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: uint64(1 + rng.Intn(8))}}
	} else {
		c.Op = &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p", Priority: uint32(rng.Intn(4))}}
	}
	if l.clock {
		c.Quotas = &pb.Quotas{MaxLiveJobs: 6}
	} else if c.GetSubmitJob() != nil {
		c.GetSubmitJob().Priority = 0
	}
	l.apply(c)
}

func step(l *log, rng *rand.Rand, w *worker, task *pb.Task, stale *[]*worker) {
	k := TaskKey{task.GetJobId(), task.GetId()}
	j := l.m.Job(k.Job)
	switch n := rng.Intn(22); {
	case n < 5:
		l.apply(w.callCmd(w.seq+1, w.key(), &pb.Checkpoint{}))
		w.seq++
	case n < 8 && j.GetNextTaskId() < 40:
		l.apply(w.callCmd(w.seq+1, w.key(), &pb.Spawn{Children: []*pb.Child{{Start: inline(fmt.Sprint(n))}}}))
		w.seq++
	case n < 10 && j.GetNextTaskId() > k.Task+1:
		f := k.Task + 1 + uint64(rng.Intn(int(j.GetNextTaskId()-k.Task-1)))
		l.apply(w.callCmd(w.seq+1, w.key(), &pb.Wait{Futures: []uint64{f}}))
		w.seq++
	case n < 11:
		l.apply(w.callCmd(w.seq+1, w.key(), &pb.Yield{}))
		w.seq++
	case n < 13:
		l.apply(ended(k.Job, k.Task, w.ref.GetEpoch(), pb.Outcome_OUTCOME_CRASH))
	case n < 14 && w.seq > 0:
		// A re-sent call: the stored response comes back.
		l.apply(w.callCmd(w.seq, w.key(), &pb.Checkpoint{}))
	case n < 15 && len(*stale) > 0:
		old := (*stale)[rng.Intn(len(*stale))]
		l.apply(old.callCmd(old.seq+1, old.key(), &pb.Checkpoint{}))
	case n < 16 && k.Task == RootTask && j.GetNextQueueId() == 0:
		l.apply(w.callCmd(w.seq+1, w.key(), &pb.CreateQueues{MaxSize: uint32(rng.Intn(3)), Count: 2}))
		w.seq++
	case n < 17 && j.GetNextQueueId() > 0:
		q := uint64(1 + rng.Intn(int(j.GetNextQueueId())))
		if rng.Intn(2) == 0 {
			l.apply(w.callCmd(w.seq+1, w.key(), &pb.Enqueue{QueueId: q, Items: items("a", "b")[:1+rng.Intn(2)]}))
		} else {
			l.apply(w.callCmd(w.seq+1, w.key(), &pb.Dequeue{QueueId: q}))
		}
		w.seq++
	case n < 18 && k.Task != RootTask:
		l.apply(w.callCmd(w.seq+1, "", &pb.Fail{Error: "boom"}))
		w.seq++
	default:
		if k.Task == RootTask && rng.Intn(4) != 0 {
			return
		}
		l.apply(w.callCmd(w.seq+1, "", &pb.Exit{Result: inline("r"), ResultJson: "1"}))
		w.seq++
	}
}

func replay(t *testing.T, entries []*pb.Entry, from int, m *Machine) {
	for i := from; i < len(entries); i++ {
		m.Apply(uint64(i+1), entries[i])
	}
}

func TestSnapshotAtRandomIndexRestoresSameState(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		l := simulate(t, seed, 400)
		want := l.m.StateHash()
		rng := rand.New(rand.NewSource(seed * 7))
		cut := rng.Intn(len(l.entries))

		before := New()
		replay(t, l.entries[:cut], 0, before)
		restored := viaSnapshot(t, before)
		if restored.StateHash() != before.StateHash() {
			t.Fatalf("seed %d: restore changed the state", seed)
		}
		replay(t, l.entries, cut, restored)
		if got := restored.StateHash(); got != want {
			t.Fatalf("seed %d: snapshot at %d of %d, restored and replayed: hash %s, uninterrupted %s", seed, cut, len(l.entries), got, want)
		}
		if fmt.Sprint(restored.Runnable()) != fmt.Sprint(l.m.Runnable()) {
			t.Fatalf("seed %d: the runnable index differs after restore", seed)
		}
		none := func(TaskKey) bool { return false }
		if got, want := restored.NextLaunches(1<<20, none, 0), l.m.NextLaunches(1<<20, none, 0); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: the launch order after restore is %v, uninterrupted %v", seed, got, want)
		}
	}
}

func TestReplicasAgreeAndSimulationCoversStates(t *testing.T) {
	l := simulate(t, 99, 1500)
	other := New()
	replay(t, l.entries, 0, other)
	if other.StateHash() != l.m.StateHash() {
		t.Fatal("two machines applying the same log disagree")
	}
	seen := map[pb.TaskState]bool{}
	for _, task := range l.m.State().GetTasks() {
		seen[task.GetState()] = true
	}
	for _, s := range []pb.TaskState{pb.TaskState_TASK_DONE, pb.TaskState_TASK_FAILED} {
		if !seen[s] {
			t.Errorf("the simulation never reached %v; it tests too little", s)
		}
	}
	// Every task's audit shows each seq applied once, without gaps.
	for _, task := range l.m.State().GetTasks() {
		audit := task.GetAudit()
		if uint64(len(audit)) != task.GetAppliedCalls() || task.GetAppliedCalls() != task.GetSeq() {
			t.Fatalf("task %d: %d audit records, %d applied, seq %d", task.GetId(), len(audit), task.GetAppliedCalls(), task.GetSeq())
		}
		for i, a := range audit {
			if a.GetSeq() != uint64(i+1) {
				t.Fatalf("task %d: audit record %d has seq %d", task.GetId(), i, a.GetSeq())
			}
		}
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	if err := New().Restore([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Fatal("garbage restored without error")
	}
}
