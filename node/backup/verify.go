package backup

import (
	"context"
	"fmt"
	"sort"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// Ref is a store key a running job of the state needs.
type Ref struct {
	Job uint64
	Key string
}

// LiveKeys lists, for every running job of the state, the keys it needs to
// resume: its program bundle and every key the garbage collector's
// reference rule keeps (task pointers, start values, results, stored
// responses, queued items). A finished job needs nothing from the store.
func LiveKeys(m *fsm.Machine) []Ref {
	var out []Ref
	for _, j := range m.Jobs() {
		if j.GetState() != pb.JobState_JOB_RUNNING {
			continue
		}
		keys := []string{checkpoint.ProgramKey(j.GetProgramHash())}
		for k := range m.Refs(j.GetId()).Keys {
			keys = append(keys, k)
		}
		sort.Strings(keys[1:])
		for _, k := range keys {
			out = append(out, Ref{Job: j.GetId(), Key: k})
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
