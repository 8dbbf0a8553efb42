package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func items(vals ...string) []*pb.Value {
	out := make([]*pb.Value, len(vals))
	for i, v := range vals {
		out[i] = inline(v)
	}
	return out
}

// queueJob starts a job whose root created one queue and spawned n tasks.
func queueJob(t *testing.T, maxSize uint32, n int) (*log, uint64, uint64, []*worker) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	q := root.call(&pb.CreateQueues{MaxSize: maxSize, Count: 1}).GetQueuesCreated().GetQueueIds()[0]
	var children []*pb.Child
	for i := 0; i < n; i++ {
		children = append(children, &pb.Child{Start: inline("c")})
	}
	if n > 0 {
		root.call(&pb.Spawn{Children: children})
	}
	ws := []*worker{root}
	for i := 0; i < n; i++ {
		w, _ := l.start(job, uint64(2+i), 1)
		ws = append(ws, w)
	}
	return l, job, q, ws
}

func got(r *pb.Response) string { return string(r.GetDequeued().GetItem().GetInline()) }

func TestQueueIsFIFOAndBlocksWhenFull(t *testing.T) {
	l, job, q, ws := queueJob(t, 2, 2)
	prod, cons := ws[1], ws[2]
	if r := prod.call(&pb.Enqueue{QueueId: q, Items: items("a", "b", "c", "d")}); r.GetBlocked() == nil {
		t.Fatalf("4 items into a queue of 2 must block, got %v", r)
	}
	if st := l.task(job, prod.ref.GetTaskId()).GetState(); st != pb.TaskState_TASK_BLOCKED {
		t.Fatalf("producer is %v", st)
	}
	for _, want := range []string{"a", "b"} {
		if g := got(cons.call(&pb.Dequeue{QueueId: q})); g != want {
			t.Fatalf("dequeued %q, want %q", g, want)
		}
	}
	// "c" and "d" moved in as room appeared: the producer is released.
	if r, _ := l.m.Poll(prod.ref, prod.seq); !r.GetAck() {
		t.Fatalf("the producer should be done once all its items are in: %v", r)
	}
	for _, want := range []string{"c", "d"} {
		if g := got(cons.call(&pb.Dequeue{QueueId: q})); g != want {
			t.Fatalf("dequeued %q, want %q", g, want)
		}
	}
	if r := cons.call(&pb.Dequeue{QueueId: q}); r.GetBlocked() == nil {
		t.Fatal("dequeue from an empty queue must block")
	}
	prod.call(&pb.Enqueue{QueueId: q, Items: items("e")})
	if r, _ := l.m.Poll(cons.ref, cons.seq); got(r) != "e" {
		t.Fatalf("the blocked consumer should get the new item directly: %v", r)
	}
	if j := l.m.Job(job); j.GetEnqueued() != 5 || j.GetDequeued() != 5 {
		t.Fatalf("counters: %d enqueued, %d dequeued", j.GetEnqueued(), j.GetDequeued())
	}
}

func TestProducersKeepTheirOrderWhenBlocked(t *testing.T) {
	l, _, q, ws := queueJob(t, 1, 3)
	p1, p2, cons := ws[1], ws[2], ws[3]
	p1.call(&pb.Enqueue{QueueId: q, Items: items("1a", "1b")})
	p2.call(&pb.Enqueue{QueueId: q, Items: items("2a")})
	var seen []string
	for i := 0; i < 3; i++ {
		seen = append(seen, got(cons.call(&pb.Dequeue{QueueId: q})))
	}
	if strings.Join(seen, ",") != "1a,1b,2a" {
		t.Fatalf("order %v", seen)
	}
	for _, p := range []*worker{p1, p2} {
		if r, _ := l.m.Poll(p.ref, p.seq); !r.GetAck() {
			t.Fatalf("producer t%d not released", p.ref.GetTaskId())
		}
	}
}

func TestRendezvousHandsItemsAcross(t *testing.T) {
	l, _, q, ws := queueJob(t, 0, 2)
	prod, cons := ws[1], ws[2]
	if r := prod.call(&pb.Enqueue{QueueId: q, Items: items("x", "y")}); r.GetBlocked() == nil {
		t.Fatal("a rendezvous enqueue must wait for consumers")
	}
	if g := got(cons.call(&pb.Dequeue{QueueId: q})); g != "x" {
		t.Fatalf("got %q", g)
	}
	if r, _ := l.m.Poll(prod.ref, prod.seq); r != nil {
		t.Fatal("the producer still has y to hand over")
	}
	if g := got(cons.call(&pb.Dequeue{QueueId: q})); g != "y" {
		t.Fatalf("got %q", g)
	}
	if r, _ := l.m.Poll(prod.ref, prod.seq); !r.GetAck() {
		t.Fatal("the producer should be released")
	}
	// A consumer first, then a producer: the item goes straight across.
	cons.call(&pb.Dequeue{QueueId: q})
	if r := prod.call(&pb.Enqueue{QueueId: q, Items: items("z")}); !r.GetAck() {
		t.Fatalf("a waiting consumer takes the item at once: %v", r)
	}
	if r, _ := l.m.Poll(cons.ref, cons.seq); got(r) != "z" {
		t.Fatal("the consumer did not get z")
	}
}

func TestParkedConsumerIsRelaunchedWithItsItem(t *testing.T) {
	l, job, q, ws := queueJob(t, 4, 2)
	prod, cons := ws[1], ws[2]
	cons.call(&pb.Dequeue{QueueId: q})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: cons.ref, Seq: cons.seq}}})
	prod.call(&pb.Enqueue{QueueId: q, Items: items("v")})
	if st := l.task(job, cons.ref.GetTaskId()).GetState(); st != pb.TaskState_TASK_RUNNABLE {
		t.Fatalf("consumer is %v", st)
	}
	_, g := l.start(job, cons.ref.GetTaskId(), 2)
	if string(g.GetLastResponse().GetDequeued().GetItem().GetInline()) != "v" {
		t.Fatalf("grant %v", g)
	}
}

func TestQueueDeadlockNamesTheQueue(t *testing.T) {
	l, job, q, ws := queueJob(t, 1, 1)
	root, cons := ws[0], ws[1]
	cons.call(&pb.Dequeue{QueueId: q})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: cons.ref, Seq: cons.seq}}})
	root.call(&pb.Wait{Futures: []uint64{cons.ref.GetTaskId()}})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_FAILED || !strings.Contains(j.GetError(), "t2 waits for an item in q1 (empty)") ||
		!strings.Contains(j.GetError(), "t1 waits for t2") {
		t.Fatalf("job %v", j)
	}
}

func TestQueueBadInput(t *testing.T) {
	l, _, _, ws := queueJob(t, 1, 0)
	root := ws[0]
	if msg := l.refused(root.callCmd(root.seq+1, root.key(), &pb.Dequeue{QueueId: 99}), pb.ErrorCode_NOT_FOUND); !strings.Contains(msg, "queue q99 does not exist") {
		t.Fatal(msg)
	}
	l.refused(root.callCmd(root.seq+1, root.key(), &pb.Enqueue{QueueId: 1}), pb.ErrorCode_INVALID)
	l.refused(root.callCmd(root.seq+1, root.key(), &pb.CreateQueues{Count: 0}), pb.ErrorCode_INVALID)
}

// A child that fails by running out of launches (its lambdas keep dying)
// may leave every other task parked: the job is deadlocked then and must
// fail at once, not stay running with nothing left to run it.
func TestChildOutOfLaunchesLeavingOthersParkedIsADeadlock(t *testing.T) {
	l, job, q, ws := queueJob(t, 1, 1)
	root, prod := ws[0], ws[1]
	root.call(&pb.Dequeue{QueueId: q})
	l.ok(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: root.ref, Seq: root.seq}}})
	l.ok(ended(job, prod.ref.GetTaskId(), 1, pb.Outcome_OUTCOME_CRASH))
	for e := uint64(2); e <= DefaultMaxLaunches; e++ {
		l.start(job, prod.ref.GetTaskId(), e)
		l.ok(ended(job, prod.ref.GetTaskId(), e, pb.Outcome_OUTCOME_CRASH))
	}
	if st := l.task(job, prod.ref.GetTaskId()).GetState(); st != pb.TaskState_TASK_FAILED {
		t.Fatalf("the child is %v after %d crashed launches", st, DefaultMaxLaunches)
	}
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_FAILED || !strings.Contains(j.GetError(), "deadlock") ||
		!strings.Contains(j.GetError(), "t1 waits for an item in q1 (empty); t2 failed: task j1/t2 was launched 8 times") {
		t.Fatalf("job %v", j)
	}
}
