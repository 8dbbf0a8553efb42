package fsm

import (
	"fmt"
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// Queues are bounded multi-producer multi-consumer FIFOs owned by a job.
// A producer whose items do not all fit, or a consumer of an empty queue,
// registers in FIFO order and blocks; the call that makes room (a dequeue)
// or brings an item (an enqueue) fulfils it directly by writing into its
// response slot, exactly like a future's waiters. max_size 0 is a
// rendezvous: every item passes straight from a producer to a consumer.

// QueueKey names a queue.
type QueueKey struct{ Job, Queue uint64 }

func (m *Machine) createQueues(j *pb.Job, c *pb.CreateQueues) *pb.Response {
	ids := make([]uint64, c.GetCount())
	for i := range ids {
		j.NextQueueId++
		id := j.GetNextQueueId()
		m.queues[QueueKey{j.GetId(), id}] = &pb.Queue{JobId: j.GetId(), Id: id, MaxSize: c.GetMaxSize()}
		ids[i] = id
	}
	return &pb.Response{Result: &pb.Response_QueuesCreated{QueuesCreated: &pb.QueuesCreated{QueueIds: ids}}}
}

func (m *Machine) checkQueue(t *pb.Task, id uint64, what string) *pb.Result {
	if m.queues[QueueKey{t.GetJobId(), id}] == nil {
		return fail(pb.ErrorCode_NOT_FOUND, "%s from j%d/t%d: queue q%d does not exist in job j%d", what, t.GetJobId(), t.GetId(), id, t.GetJobId())
	}
	return nil
}

func (m *Machine) enqueue(j *pb.Job, t *pb.Task, e *pb.Enqueue) *pb.Response {
	q := m.queues[QueueKey{j.GetId(), e.GetQueueId()}]
	items := e.GetItems()
	j.Enqueued += uint64(len(items))
	// Straight to waiting consumers: they only wait when nothing is queued.
	for len(items) > 0 && len(q.Getters) > 0 && len(q.Items) == 0 && len(q.Putters) == 0 {
		g := q.Getters[0]
		q.Getters = q.Getters[1:]
		m.deliver(j, g, items[0])
		items = items[1:]
	}
	// Into the buffer, behind any producer already waiting.
	for len(items) > 0 && len(q.Putters) == 0 && uint32(len(q.Items)) < q.GetMaxSize() {
		q.Items = append(q.Items, items[0])
		items = items[1:]
	}
	if len(items) == 0 {
		return ack()
	}
	q.Putters = append(q.Putters, &pb.Putter{TaskId: t.GetId(), Items: items})
	t.BlockedQueue, t.BlockedPut = q.GetId(), true
	m.setState(t, pb.TaskState_TASK_BLOCKED)
	return &pb.Response{Result: &pb.Response_Blocked{Blocked: &pb.Blocked{}}}
}

func (m *Machine) dequeue(j *pb.Job, t *pb.Task, d *pb.Dequeue) *pb.Response {
	q := m.queues[QueueKey{j.GetId(), d.GetQueueId()}]
	var item *pb.Value
	switch {
	case len(q.Items) > 0:
		item = q.Items[0]
		q.Items = q.Items[1:]
		m.refill(j, q)
	case len(q.Putters) > 0:
		// A rendezvous: take the item straight from the first producer.
		item = m.takeFromPutter(j, q)
	default:
		q.Getters = append(q.Getters, t.GetId())
		t.BlockedQueue, t.BlockedPut = q.GetId(), false
		m.setState(t, pb.TaskState_TASK_BLOCKED)
		return &pb.Response{Result: &pb.Response_Blocked{Blocked: &pb.Blocked{}}}
	}
	j.Dequeued++
	return dequeued(item)
}

func dequeued(item *pb.Value) *pb.Response {
	return &pb.Response{Result: &pb.Response_Dequeued{Dequeued: &pb.Dequeued{Item: item}}}
}

// refill moves waiting producers' items into the freed room, in order,
// and releases each producer whose last item went in.
func (m *Machine) refill(j *pb.Job, q *pb.Queue) {
	for len(q.Putters) > 0 && uint32(len(q.Items)) < q.GetMaxSize() {
		p := q.Putters[0]
		for len(p.Items) > 0 && uint32(len(q.Items)) < q.GetMaxSize() {
			q.Items = append(q.Items, p.Items[0])
			p.Items = p.Items[1:]
		}
		if len(p.Items) > 0 {
			return
		}
		q.Putters = q.Putters[1:]
		m.release(j, p.GetTaskId(), ack())
	}
}

func (m *Machine) takeFromPutter(j *pb.Job, q *pb.Queue) *pb.Value {
	p := q.Putters[0]
	item := p.Items[0]
	p.Items = p.Items[1:]
	if len(p.Items) == 0 {
		q.Putters = q.Putters[1:]
		m.release(j, p.GetTaskId(), ack())
	}
	return item
}

// deliver hands an item to a consumer blocked on an empty queue.
func (m *Machine) deliver(j *pb.Job, task uint64, item *pb.Value) {
	j.Dequeued++
	m.release(j, task, dequeued(item))
}

// release fills a blocked task's response slot and wakes it: its polling
// worker reads the response, or a parked task becomes runnable.
func (m *Machine) release(j *pb.Job, task uint64, r *pb.Response) {
	t := m.tasks[TaskKey{j.GetId(), task}]
	if t == nil || isTerminal(t.GetState()) {
		return
	}
	t.LastResponse = r
	t.BlockedQueue, t.BlockedPut = 0, false
	switch t.GetState() {
	case pb.TaskState_TASK_BLOCKED:
		m.setState(t, pb.TaskState_TASK_RUNNING)
	case pb.TaskState_TASK_PARKED:
		m.setState(t, pb.TaskState_TASK_RUNNABLE)
		m.noteRunnable(t, pb.LaunchReason_LAUNCH_UNBLOCKED)
	}
}

// queueWait describes what a task blocked on a queue waits for, for the
// wait-for graph of a deadlocked job.
func (m *Machine) queueWait(t *pb.Task) string {
	q := m.queues[QueueKey{t.GetJobId(), t.GetBlockedQueue()}]
	if t.GetBlockedPut() {
		return fmt.Sprintf("room in q%d (full: %d of %d)", t.GetBlockedQueue(), len(q.GetItems()), q.GetMaxSize())
	}
	return fmt.Sprintf("an item in q%d (empty)", t.GetBlockedQueue())
}

// queueValues lists every value a job's queues hold (for garbage
// collection: these keys are still referenced).
func (m *Machine) queueValues(job uint64) []*pb.Value {
	var out []*pb.Value
	for _, k := range m.queueKeys(job) {
		q := m.queues[k]
		out = append(out, q.GetItems()...)
		for _, p := range q.GetPutters() {
			out = append(out, p.GetItems()...)
		}
	}
	return out
}

func (m *Machine) queueKeys(job uint64) []QueueKey {
	var keys []QueueKey
	for k := range m.queues {
		if job == 0 || k.Job == job {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].Job != keys[b].Job {
			return keys[a].Job < keys[b].Job
		}
		return keys[a].Queue < keys[b].Queue
	})
	return keys
}

// Queue returns a copy of a queue, or nil.
func (m *Machine) Queue(k QueueKey) *pb.Queue {
	if q := m.queues[k]; q != nil {
		return proto.Clone(q).(*pb.Queue)
	}
	return nil
}
