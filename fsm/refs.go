package fsm

import (
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// JobRefs is what the garbage collector needs to know about a job: every
// store key its state refers to, and per task the last applied seq and
// whether the task can still write.
type JobRefs struct {
	Keys     map[string]bool
	Seq      map[uint64]uint64
	Terminal map[uint64]bool
}

// Refs lists the keys a job's state refers to: task pointers, start
// values, results, stored responses (resolved futures, dequeued items) and
// queued items. A key is collectable only when it is not among them.
func (m *Machine) Refs(job uint64) JobRefs {
	r := JobRefs{Keys: map[string]bool{}, Seq: map[uint64]uint64{}, Terminal: map[uint64]bool{}}
	j := m.jobs[job]
	if j == nil {
		return r
	}
	add := func(v *pb.Value) {
		if k := v.GetKey(); k != "" {
			r.Keys[k] = true
		}
	}
	add(j.GetResult())
	if k := j.GetResultJsonKey(); k != "" {
		r.Keys[k] = true
	}
	for id := uint64(1); id < j.GetNextTaskId(); id++ {
		t := m.tasks[TaskKey{job, id}]
		if t == nil {
			continue
		}
		if k := t.GetCheckpointKey(); k != "" {
			r.Keys[k] = true
		}
		add(t.GetStart())
		add(t.GetResult())
		// The stored response, and the one a retry would resume with.
		for _, v := range append(responseValues(t.GetLastResponse()), responseValues(t.GetResumeResponse())...) {
			add(v)
		}
		r.Seq[id] = t.GetSeq()
		r.Terminal[id] = isTerminal(t.GetState())
	}
	for _, v := range m.queueValues(job) {
		add(v)
	}
	return r
}
