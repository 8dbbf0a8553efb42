// Package checker judges what a Jepsen-style run recorded: queue
// deliveries (lost, duplicated, reordered), and histories of operations
// with call and return times, checked for linearizability with porcupine
// against a FIFO queue model and a job-registry model.
package checker

import (
	"fmt"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Item is one queue element: producer p's n-th item.
type Item struct{ P, N int }

// QueueOp is one recorded enqueue (Items) or dequeue (Got; nil: the
// end-of-stream sentinel), with wall-clock call and return times in ns.
type QueueOp struct {
	Client  int
	Enqueue bool
	Items   []Item
	Got     *Item
	Call    int64
	Return  int64
}

// Delivery counts, over what consumers received, the items never
// delivered (lost), delivered more than once (duplicated), and delivered
// out of their producer's order to one consumer (reordered).
type Delivery struct {
	Lost, Duplicated, Reordered int
	Problems                    []string
}

// CheckDelivery checks that producers 0..producers-1 each delivered items
// 0..n-1 exactly once across the consumers, in order per consumer.
func CheckDelivery(consumed [][]Item, producers, n int) Delivery {
	var d Delivery
	seen := map[Item]int{}
	for c, items := range consumed {
		last := map[int]int{}
		for _, it := range items {
			seen[it]++
			if prev, ok := last[it.P]; ok && it.N <= prev {
				d.Reordered++
				d.Problems = append(d.Problems, fmt.Sprintf("consumer %d: producer %d's item %d after %d", c, it.P, it.N, prev))
			}
			last[it.P] = it.N
		}
	}
	for p := 0; p < producers; p++ {
		for i := 0; i < n; i++ {
			switch k := seen[Item{p, i}]; {
			case k == 0:
				d.Lost++
				d.Problems = append(d.Problems, fmt.Sprintf("producer %d's item %d never delivered", p, i))
			case k > 1:
				d.Duplicated += k - 1
				d.Problems = append(d.Problems, fmt.Sprintf("producer %d's item %d delivered %d times", p, i, k))
			}
		}
	}
	return d
}

// fifo is the queue model's state: the items in order, encoded as a string
// so porcupine can compare and hash states.
type fifo string

func encode(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "%d.%d,", it.P, it.N)
	}
	return b.String()
}

// QueueModel is a FIFO queue: an enqueue appends its items atomically, a
// dequeue takes the head. Capacity shows only as blocking, which lies
// inside an operation's call and return, so the model has none.
var QueueModel = porcupine.Model{
	Init: func() interface{} { return fifo("") },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		s := string(state.(fifo))
		op := input.(QueueOp)
		if op.Enqueue {
			return true, fifo(s + encode(op.Items))
		}
		head := encode([]Item{*output.(*Item)})
		if !strings.HasPrefix(s, head) {
			return false, state
		}
		return true, fifo(s[len(head):])
	},
	Equal: func(a, b interface{}) bool { return a.(fifo) == b.(fifo) },
	DescribeOperation: func(input, output interface{}) string {
		op := input.(QueueOp)
		if op.Enqueue {
			return fmt.Sprintf("enqueue(%v)", op.Items)
		}
		return fmt.Sprintf("dequeue() -> %v", *output.(*Item))
	},
}

// CheckQueue checks one queue's history for linearizability; sentinel
// dequeues (nil) are left out, since every sentinel is enqueued after the
// last real item. It returns porcupine's verdict ("Ok", "Illegal" or
// "Unknown" when the search ran out of time).
func CheckQueue(ops []QueueOp, timeout time.Duration) porcupine.CheckResult {
	var hist []porcupine.Operation
	for _, op := range ops {
		if !op.Enqueue && op.Got == nil {
			continue
		}
		hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: op, Output: op.Got, Call: op.Call, Return: op.Return})
	}
	return porcupine.CheckOperationsTimeout(QueueModel, hist, timeout)
}
