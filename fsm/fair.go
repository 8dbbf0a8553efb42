package fsm

import (
	"container/heap"
	"container/list"
	"math"
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Fair launching. Each running job keeps its runnable tasks in a queue,
// first made runnable first launched; jobs take turns by stride
// scheduling: the job with runnable tasks and the lowest pass launches
// next, and every launch adds the job's stride (strideUnit / priority) to
// its pass. A job that gets runnable tasks again starts from the pass of
// the job launched last (State.virtual_pass), so it neither jumps ahead
// with a pass long past nor waits behind a job that queued thousands of
// tasks: whatever another job queued, a job's first runnable task is among
// the next launches. Passes, stamps and the virtual pass are replicated
// (command version 2), so every replica and every new leader see the same
// order; the queues themselves are derived and rebuilt from the stamps.

// MaxPriority is the largest job priority (the weight of its share).
const MaxPriority = 100

// strideUnit is the pass a priority-1 job advances per launch.
const strideUnit = 1 << 20

func stride(j *pb.Job) uint64 {
	p := uint64(j.GetPriority())
	if p == 0 {
		p = 1
	}
	return strideUnit / p
}

// addRunnable puts a task that became runnable at the back of its job's
// queue.
func (m *Machine) addRunnable(j *pb.Job, t *pb.Task) {
	k := TaskKey{t.GetJobId(), t.GetId()}
	if _, ok := m.runnable[k]; ok {
		return
	}
	q := m.runQueues[k.Job]
	if q == nil {
		q = list.New()
		m.runQueues[k.Job] = q
		if m.atLeast(2) {
			j.Pass = max(j.GetPass(), m.virtualPass)
		}
	}
	if m.atLeast(2) {
		m.runnableSeq++
		t.RunnableSeq = m.runnableSeq
	}
	m.runnable[k] = q.PushBack(k.Task)
}

// dropRunnable takes a task out of its job's queue (launched, failed, or
// its job ended).
func (m *Machine) dropRunnable(k TaskKey) {
	e, ok := m.runnable[k]
	if !ok {
		return
	}
	delete(m.runnable, k)
	q := m.runQueues[k.Job]
	q.Remove(e)
	if q.Len() == 0 {
		delete(m.runQueues, k.Job)
	}
}

// chargeLaunch moves a job's turn on by one launch.
func (m *Machine) chargeLaunch(j *pb.Job) {
	if !m.atLeast(2) {
		return
	}
	m.virtualPass = max(m.virtualPass, j.GetPass())
	j.Pass = j.GetPass() + stride(j)
}

// rebuildRunnable derives the runnable queues from the state: a job's
// runnable tasks in stamp order (tasks stamped alike, i.e. before version
// 2, by id). Restore and the move to version 2 call it, so the queues are
// the same on every replica however it got its state.
func (m *Machine) rebuildRunnable() {
	m.runnable = map[TaskKey]*list.Element{}
	m.runQueues = map[uint64]*list.List{}
	var keys []TaskKey
	for k, t := range m.tasks {
		if t.GetState() == pb.TaskState_TASK_RUNNABLE && m.jobs[k.Job].GetState() == pb.JobState_JOB_RUNNING {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		x, y := keys[a], keys[b]
		if x.Job != y.Job {
			return x.Job < y.Job
		}
		sx, sy := m.tasks[x].GetRunnableSeq(), m.tasks[y].GetRunnableSeq()
		if sx != sy {
			return sx < sy
		}
		return x.Task < y.Task
	})
	for _, k := range keys {
		q := m.runQueues[k.Job]
		if q == nil {
			q = list.New()
			m.runQueues[k.Job] = q
		}
		m.runnable[k] = q.PushBack(k.Task)
	}
}

// Runnable lists every task that needs a launch, by (job, task). It sorts
// them all: for tests and tools; the leader uses NextLaunches.
func (m *Machine) Runnable() []TaskKey {
	keys := make([]TaskKey, 0, len(m.runnable))
	for k := range m.runnable {
		keys = append(keys, k)
	}
	sortKeys(keys)
	return keys
}

// RunnableCount is how many tasks need a launch.
func (m *Machine) RunnableCount() int { return len(m.runnable) }

// NextLaunches returns up to n runnable tasks in the order the leader
// should launch them: jobs take turns by pass (ties by job id), each job's
// tasks in queue order. busy names tasks the leader is launching already
// (their Launch not yet applied): they are skipped and count as that job's
// launches, so a job does not win the next turn twice while its launch
// commits. maxRunning (0: none) bounds a job's lambdas: tasks launched,
// running or blocked in a worker, plus its busy ones.
//
// It costs O(jobs with runnable tasks + n log jobs + busy), not
// O(runnable tasks): a job that queued 20,000 tasks is one entry.
func (m *Machine) NextLaunches(n int, busy func(TaskKey) bool, maxRunning uint64) []TaskKey {
	if n <= 0 || len(m.runQueues) == 0 {
		return nil
	}
	turns := make(turnHeap, 0, len(m.runQueues))
	for id, q := range m.runQueues {
		j := m.jobs[id]
		tn := &turn{job: id, pass: max(j.GetPass(), m.virtualPass), stride: stride(j), next: q.Front(), room: math.MaxInt64}
		if maxRunning > 0 {
			c := j.GetTasksByState()
			running := c[pb.TaskState_TASK_LAUNCHED] + c[pb.TaskState_TASK_RUNNING] + c[pb.TaskState_TASK_BLOCKED]
			tn.room = int64(maxRunning) - int64(running)
		}
		// Launches in flight are this job's most recent turns.
		for tn.next != nil && busy(tn.key()) {
			tn.next = tn.next.Next()
			tn.pass += tn.stride
			tn.room--
		}
		if tn.next != nil && tn.room > 0 {
			turns = append(turns, tn)
		}
	}
	heap.Init(&turns)
	var out []TaskKey
	for len(out) < n && len(turns) > 0 {
		tn := turns[0]
		for tn.next != nil && busy(tn.key()) {
			tn.next = tn.next.Next()
			tn.room--
		}
		if tn.next == nil || tn.room <= 0 {
			heap.Pop(&turns)
			continue
		}
		out = append(out, tn.key())
		tn.next = tn.next.Next()
		tn.pass += tn.stride
		tn.room--
		heap.Fix(&turns, 0)
	}
	return out
}

// turn is one job's place in NextLaunches' simulation of the coming turns.
type turn struct {
	job          uint64
	pass, stride uint64
	next         *list.Element
	room         int64 // lambdas it may still start
}

func (t *turn) key() TaskKey { return TaskKey{t.job, t.next.Value.(uint64)} }

type turnHeap []*turn

func (h turnHeap) Len() int { return len(h) }
func (h turnHeap) Less(a, b int) bool {
	if h[a].pass != h[b].pass {
		return h[a].pass < h[b].pass
	}
	return h[a].job < h[b].job
}
func (h turnHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *turnHeap) Push(x any)   { *h = append(*h, x.(*turn)) }
func (h *turnHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
