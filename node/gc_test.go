package node

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

func TestCollectableKeys(t *testing.T) {
	refs := fsm.JobRefs{Keys: map[string]bool{}, Seq: map[uint64]uint64{2: 7, 3: 4}, Terminal: map[uint64]bool{3: true}}
	cases := map[string]bool{
		"jobs/j1/t2/e3-s7.ckpt":       true,  // at the last applied seq, unreferenced: a lost attempt
		"jobs/j1/t2/e3-s8.ckpt":       false, // ahead: may be about to commit
		"jobs/j1/t2/e1-s2-start0.val": true,
		"jobs/j1/t3/e9-s99.ckpt":      true,  // the task is over
		"jobs/j1/t9/e1-s1.ckpt":       false, // unknown task: leave it
		"programs/abc.zip":            false,
		"jobs/j1/t2/garbage":          false,
	}
	for key, want := range cases {
		if got := collectable(key, refs); got != want {
			t.Errorf("%s: collectable %v, want %v", key, got, want)
		}
	}
}

const checkpointLoop = `
from kappa import checkpoint, spawn, wait

def loop(i, n):
    acc = i
    for k in range(n):
        acc = (acc * 7 + k) % 1000003
        checkpoint()
    return acc

def handler(event, context):
    fs = []
    for i in range(event["tasks"]):
        fs.append(spawn(loop, (i, event["n"])))
    return sum(wait(*fs))
`

// Ten thousand checkpoints under random lambda kills: the store's key
// count stays bounded, no committed pointer ever names a missing key, and
// nothing of the job is left once its retention has passed.
func TestGarbageCollectionUnderKills(t *testing.T) {
	dir := t.TempDir()
	platform := localPlatform(t, 30*time.Second)
	n := testNode(t, platform, dir, func(c *Config) {
		c.LambdaTimeout = 30 * time.Second
		c.GCInterval = 100 * time.Millisecond
		c.Retention = time.Second
	})
	defer n.Close()
	c := clientFor(t, n)
	const tasks, per = 4, 2500
	job := submitEvent(t, c, checkpointLoop, `{"tasks": 4, "n": 2500}`)
	store := n.cfg.Store

	var maxKeys atomic.Int64
	var violations []string
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	killer := startWorkerKiller(t, n, platform, job, 500*time.Millisecond, time.Second, 1<<30)
	wg.Add(1)
	go func() { // observer: key count, and pointers that name missing keys
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			keys, _ := store.List(context.Background(), checkpoint.JobPrefix(job))
			if int64(len(keys)) > maxKeys.Load() {
				maxKeys.Store(int64(len(keys)))
			}
			for _, task := range jobTasks(n, job) {
				key := task.GetCheckpointKey()
				if key == "" {
					continue
				}
				if ok, _ := store.Exists(context.Background(), key); !ok {
					// Missing only counts if the pointer still names it.
					if now := jobTask(n, job, task.GetId()); now != nil && now.GetCheckpointKey() == key {
						mu.Lock()
						violations = append(violations, key)
						mu.Unlock()
					}
				}
			}
		}
	}()
	st := awaitJob(t, c, job, 6*time.Minute)
	close(stop)
	wg.Wait()
	kills := killer.Stop()
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", st)
	}
	if st.GetCheckpoints() < tasks*per {
		t.Fatalf("only %d checkpoints", st.GetCheckpoints())
	}
	t.Logf("%d checkpoints, %d kills, %d relaunches, at most %d keys at once, %d collected", st.GetCheckpoints(), kills, st.GetRelaunches(), maxKeys.Load(), n.GC().Deleted)
	if len(violations) > 0 {
		t.Fatalf("committed pointers named missing keys: %s", strings.Join(violations, ", "))
	}
	// Without collection the store would hold every checkpoint written
	// (10,000+). A pass trails the writers by its interval plus its own
	// run time, a few hundred milliseconds of checkpoints on a slow
	// machine, so the bound is a small fraction of the total, not an exact
	// count.
	if bound := st.GetCheckpoints() / 40; maxKeys.Load() > int64(bound) {
		t.Fatalf("the store held %d keys of the job at once (bound %d of %d written); garbage collection does not keep up",
			maxKeys.Load(), bound, st.GetCheckpoints())
	}
	// After the retention everything of the job is gone, from the store
	// and from the state.
	nodetest.Eventually(t, 30*time.Second, "end of the job's keys and record after its retention", func() bool {
		keys, _ := store.List(context.Background(), checkpoint.JobPrefix(job))
		gone := false
		n.replica.read(func(m *fsm.Machine) { gone = m.Job(job) == nil })
		return len(keys) == 0 && gone
	})
}
