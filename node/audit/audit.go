// Package audit checks a job's FSM audit record (AuditJob): the tests,
// the Jepsen-style harness and `kappa drill` judge a run with it.
package audit

import (
	"fmt"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Check checks, from the FSM's own records, that every task applied
// each of its calls exactly once and without gaps: seq 1, 2, … with one
// log index each. It returns the problems found.
func Check(a *wire.AuditJobResponse) []string {
	var problems []string
	for _, ta := range a.GetTasks() {
		recs := ta.GetRecords()
		if ta.GetAppliedCalls() != ta.GetSeq() {
			problems = append(problems, fmt.Sprintf("t%d: seq %d but %d applied calls", ta.GetTaskId(), ta.GetSeq(), ta.GetAppliedCalls()))
		}
		if uint64(len(recs)) > ta.GetSeq() {
			problems = append(problems, fmt.Sprintf("t%d: %d records of applied calls but seq %d (calls applied twice)", ta.GetTaskId(), len(recs), ta.GetSeq()))
			continue
		}
		// The FSM keeps the most recent records: they must be the last
		// len(recs) seqs, consecutive.
		first := ta.GetSeq() - uint64(len(recs)) + 1
		indexes := map[uint64]bool{}
		for i, r := range recs {
			if r.GetSeq() != first+uint64(i) {
				problems = append(problems, fmt.Sprintf("t%d: record %d has seq %d, want %d (gap or double)", ta.GetTaskId(), i, r.GetSeq(), first+uint64(i)))
				break
			}
			if indexes[r.GetLogIndex()] {
				problems = append(problems, fmt.Sprintf("t%d: two calls at log index %d", ta.GetTaskId(), r.GetLogIndex()))
			}
			indexes[r.GetLogIndex()] = true
		}
	}
	return problems
}
