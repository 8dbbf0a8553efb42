package backup

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Ref is a store key a job of the state needs. RetryOnly: the job failed
// or was cancelled, and needs the key only to be retried (kappa jobs
// retry). Result: the key holds a succeeded job's result, stored by key
// (kappa jobs result reads it).
type Ref struct {
	Job       uint64
	Key       string
	RetryOnly bool
	Result    bool
}

// LiveKeys lists, for every running job of the state, the keys it needs to
// resume: its program bundle and every key the garbage collector's
// reference rule keeps (task pointers, start values, results, stored
// responses, queued items); for every failed or cancelled job, what a
// retry of it would read (fsm's RetryNeeds); and for a job that succeeded,
// its result when it is stored by key (its program and checkpoints are
// done with).
func LiveKeys(m *fsm.Machine) []Ref {
	var out []Ref
	for _, j := range m.Jobs() {
		var keys []string
		switch j.GetState() {
		case pb.JobState_JOB_SUCCEEDED:
			for _, k := range []string{j.GetResultJsonKey(), j.GetResult().GetKey()} {
				if k != "" {
					out = append(out, Ref{Job: j.GetId(), Key: k, Result: true})
				}
			}
			continue
		case pb.JobState_JOB_RUNNING:
			for k := range m.Refs(j.GetId()).Keys {
				keys = append(keys, k)
			}
		case pb.JobState_JOB_FAILED:
			_, retry := m.RetryNeeds(j.GetId())
			for _, k := range retry {
				keys = append(keys, k.Key)
			}
		default:
			continue
		}
		sort.Strings(keys)
		keys = slices.Compact(keys)
		retryOnly := j.GetState() != pb.JobState_JOB_RUNNING
		for _, k := range append([]string{checkpoint.ProgramKey(j.GetProgramHash())}, keys...) {
			out = append(out, Ref{Job: j.GetId(), Key: k, RetryOnly: retryOnly})
		}
	}
	return out
}

// Verify checks that the store holds every live key of the state and
// returns the ones it lacks.
func Verify(ctx context.Context, store checkpoint.Store, m *fsm.Machine) (checked int, missing []Ref, err error) {
	refs := LiveKeys(m)
	for _, r := range refs {
		ok, err := store.Exists(ctx, r.Key)
		if err != nil {
			return checked, missing, fmt.Errorf("checking %s: %w", r.Key, err)
		}
		checked++
		if !ok {
			missing = append(missing, r)
		}
	}
	return checked, missing, nil
}
