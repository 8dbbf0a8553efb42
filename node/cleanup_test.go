package node

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestCleanupRemovesDeadVotersWithinTheRules(t *testing.T) {
	now := time.Now()
	long, short := now.Add(-time.Minute), now.Add(-time.Second)
	ids := func(s ...string) []raft.ServerID {
		var out []raft.ServerID
		for _, v := range s {
			out = append(out, raft.ServerID(v))
		}
		return out
	}
	cases := []struct {
		name      string
		voters    []raft.ServerID
		failing   map[raft.ServerID]time.Time
		minQuorum int
		remove    []raft.ServerID
		held      map[raft.ServerID]string // substring of why
	}{
		{"one dead of five", ids("n1", "n2", "n3", "n4", "n5"), map[raft.ServerID]time.Time{"n5": long}, 3, ids("n5"), nil},
		{"not dead long enough", ids("n1", "n2", "n3"), map[raft.ServerID]time.Time{"n3": short}, 1, nil, nil},
		{"never the leader itself", ids("n1", "n2", "n3"), map[raft.ServerID]time.Time{"n1": long}, 1, nil, nil},
		{"down to min-quorum, not below", ids("n1", "n2", "n3", "n4"), map[raft.ServerID]time.Time{"n3": long.Add(-time.Second), "n4": long}, 3,
			ids("n3"), map[raft.ServerID]string{"n4": "fewer than --min-quorum 3"}},
		{"two dead of three keep no quorum", ids("n1", "n2", "n3"), map[raft.ServerID]time.Time{"n2": long, "n3": long}, 1,
			nil, map[raft.ServerID]string{"n2": "quorum", "n3": "quorum"}},
		{"two dead of five, both go", ids("n1", "n2", "n3", "n4", "n5"), map[raft.ServerID]time.Time{"n4": long, "n5": long}, 3, ids("n4", "n5"), nil},
	}
	for _, c := range cases {
		remove, held := cleanupPlan(c.voters, c.failing, "n1", now, 10*time.Second, c.minQuorum)
		if !reflect.DeepEqual(remove, c.remove) {
			t.Errorf("%s: remove %v, want %v", c.name, remove, c.remove)
		}
		if len(held) != len(c.held) {
			t.Errorf("%s: held %v, want %v", c.name, held, c.held)
		}
		for id, want := range c.held {
			if !strings.Contains(held[id], want) {
				t.Errorf("%s: %s held because %q, want %q", c.name, id, held[id], want)
			}
		}
	}
}
