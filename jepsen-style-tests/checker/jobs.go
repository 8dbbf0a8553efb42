package checker

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
)

// Job-registry operations a client makes on the API.
const (
	OpSubmit = "submit"
	OpStatus = "status"
	OpCancel = "cancel"
)

// JobOp is one client operation on one job, with its call and return
// times (ns). Status stands for both status and result reads: Outcome is
// the job's state as read ("running", "succeeded", "failed", "cancelled",
// "missing") and Result its result. For a cancel, Outcome is "ok" or
// "finished" (refused: the job had ended). Ambiguous: the call failed in
// a way that leaves open whether it took effect.
type JobOp struct {
	Client    int
	Kind      string
	Job       uint64
	Want      string // the result a successful run must give
	Outcome   string
	Result    string
	Ambiguous bool
	Call      int64
	Return    int64
}

// A job's state in the model: "absent", "running", "succeeded",
// "failed" (by itself) or "cancelled".
type jobState string

// settle lists the states a job may reach on its own from s: a running
// job may finish or fail at any moment, an ended one stays as it is.
func settle(s jobState) []jobState {
	if s == "running" {
		return []jobState{"running", "succeeded", "failed"}
	}
	return []jobState{s}
}

// JobModel is one job's registry entry; histories are partitioned by job.
var JobModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byJob := map[uint64][]porcupine.Operation{}
		var order []uint64
		for _, op := range h {
			j := op.Input.(JobOp).Job
			if _, ok := byJob[j]; !ok {
				order = append(order, j)
			}
			byJob[j] = append(byJob[j], op)
		}
		var out [][]porcupine.Operation
		for _, j := range order {
			out = append(out, byJob[j])
		}
		return out
	},
	Init: func() []interface{} { return []interface{}{jobState("absent")} },
	Step: func(state, input, _ interface{}) []interface{} {
		op := input.(JobOp)
		var next []interface{}
		for _, s := range settle(state.(jobState)) {
			for _, n := range stepJob(s, op) {
				next = append(next, n)
			}
		}
		return next
	},
	DescribeOperation: func(input, _ interface{}) string {
		op := input.(JobOp)
		return fmt.Sprintf("%s(j%d) -> %s %s", op.Kind, op.Job, op.Outcome, op.Result)
	},
}

func stepJob(s jobState, op JobOp) []jobState {
	switch op.Kind {
	case OpSubmit:
		if s == "absent" {
			return []jobState{"running"}
		}
	case OpCancel:
		switch {
		case op.Ambiguous && s == "running":
			return []jobState{"running", "cancelled"}
		case op.Ambiguous:
			return []jobState{s}
		case op.Outcome == "ok" && s == "running":
			return []jobState{"cancelled"}
		case op.Outcome == "finished" && s != "running" && s != "absent":
			return []jobState{s}
		}
	case OpStatus:
		if op.Outcome == "succeeded" && op.Result != op.Want {
			return nil // a wrong result is never legal
		}
		if string(s) == op.Outcome || (s == "absent" && op.Outcome == "missing") {
			return []jobState{s}
		}
	}
	return nil
}

// CheckJobs checks the client operations for linearizability. An
// ambiguous operation stays open to the end of time (it may take effect
// at any later moment); ambiguous reads say nothing and are dropped.
func CheckJobs(ops []JobOp, timeout time.Duration) porcupine.CheckResult {
	var hist []porcupine.Operation
	for _, op := range ops {
		if op.Ambiguous && op.Kind == OpStatus {
			continue
		}
		ret := op.Return
		if op.Ambiguous {
			ret = math.MaxInt64
		}
		hist = append(hist, porcupine.Operation{ClientId: op.Client, Input: op, Call: op.Call, Return: ret})
	}
	return porcupine.CheckOperationsTimeout(JobModel.ToModel(), hist, timeout)
}
