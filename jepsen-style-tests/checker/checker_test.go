package checker

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func item(p, n int) *Item { return &Item{p, n} }

func TestQueueHistories(t *testing.T) {
	enq := func(c int, call, ret int64, items ...Item) QueueOp {
		return QueueOp{Client: c, Enqueue: true, Items: items, Call: call, Return: ret}
	}
	deq := func(c int, call, ret int64, got *Item) QueueOp {
		return QueueOp{Client: c, Got: got, Call: call, Return: ret}
	}
	ok := []QueueOp{
		enq(0, 0, 10, Item{0, 0}, Item{0, 1}), enq(1, 5, 15, Item{1, 0}),
		deq(2, 12, 20, item(0, 0)), deq(2, 21, 30, item(0, 1)), deq(2, 31, 40, item(1, 0)), deq(2, 41, 50, nil),
	}
	if r := CheckQueue(ok, time.Minute); r != porcupine.Ok {
		t.Errorf("a FIFO history: %s", r)
	}
	// Items of one enqueue come out in order; here they do not.
	reordered := []QueueOp{enq(0, 0, 10, Item{0, 0}, Item{0, 1}), deq(1, 11, 20, item(0, 1)), deq(1, 21, 30, item(0, 0))}
	if r := CheckQueue(reordered, time.Minute); r != porcupine.Illegal {
		t.Errorf("a reordered history: %s", r)
	}
	duplicated := []QueueOp{enq(0, 0, 10, Item{0, 0}), deq(1, 11, 20, item(0, 0)), deq(1, 21, 30, item(0, 0))}
	if r := CheckQueue(duplicated, time.Minute); r != porcupine.Illegal {
		t.Errorf("a duplicated dequeue: %s", r)
	}
}

func TestDelivery(t *testing.T) {
	d := CheckDelivery([][]Item{{{0, 0}, {0, 2}, {0, 1}, {0, 2}}}, 1, 4)
	if d.Lost != 1 || d.Duplicated != 1 || d.Reordered != 1 {
		t.Errorf("lost %d duplicated %d reordered %d: %v", d.Lost, d.Duplicated, d.Reordered, d.Problems)
	}
	if d := CheckDelivery([][]Item{{{0, 0}}, {{1, 0}, {0, 1}}}, 2, 1); d.Lost+d.Reordered != 0 || d.Duplicated != 0 {
		t.Errorf("unexpected problems: %v", d.Problems)
	}
}

func TestJobHistories(t *testing.T) {
	op := func(kind string, call, ret int64, outcome, result string) JobOp {
		return JobOp{Kind: kind, Job: 7, Want: "42", Outcome: outcome, Result: result, Call: call, Return: ret}
	}
	ok := []JobOp{op(OpSubmit, 0, 10, "", ""), op(OpStatus, 11, 20, "running", ""), op(OpStatus, 21, 30, "succeeded", "42"),
		op(OpCancel, 31, 40, "finished", ""), op(OpStatus, 41, 50, "succeeded", "42")}
	if r := CheckJobs(ok, time.Minute); r != porcupine.Ok {
		t.Errorf("a legal history: %s", r)
	}
	stale := append(append([]JobOp{}, ok[:3]...), op(OpStatus, 31, 40, "running", ""))
	if r := CheckJobs(stale, time.Minute); r != porcupine.Illegal {
		t.Errorf("a stale read after the job succeeded: %s", r)
	}
	lost := append(append([]JobOp{}, ok[:2]...), op(OpStatus, 21, 30, "missing", ""))
	if r := CheckJobs(lost, time.Minute); r != porcupine.Illegal {
		t.Errorf("a submitted job gone missing: %s", r)
	}
	wrong := append(append([]JobOp{}, ok[:1]...), op(OpStatus, 21, 30, "succeeded", "41"))
	if r := CheckJobs(wrong, time.Minute); r != porcupine.Illegal {
		t.Errorf("a wrong result: %s", r)
	}
	// An ambiguous cancel may take effect later: the job can read as
	// cancelled after it, or as running.
	amb := op(OpCancel, 11, 20, "", "")
	amb.Ambiguous = true
	late := []JobOp{ok[0], amb, op(OpStatus, 21, 30, "running", ""), op(OpStatus, 31, 40, "cancelled", "")}
	if r := CheckJobs(late, time.Minute); r != porcupine.Ok {
		t.Errorf("an ambiguous cancel applied late: %s", r)
	}
}
