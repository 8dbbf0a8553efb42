package node

import (
	"math/rand"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda/local"
)

// workerKiller SIGKILLs a random local-platform worker inside an invocation
// every `every` plus up to `spread`, at most `most` times, and only after the
// job made progress (its tasks' seqs grew) since the previous kill. Ungated,
// a slow machine lets it catch one task's worker in start-up again and
// again, and the FSM rightly fails a task launched 8 times without a new
// checkpoint: these tests are about kills at random moments, not starvation.
type workerKiller struct {
	kills atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startWorkerKiller(t *testing.T, n *Node, p *local.Platform, job uint64, every, spread time.Duration, most int64) *workerKiller {
	k := &workerKiller{stop: make(chan struct{})}
	seed := time.Now().UnixNano()
	t.Logf("killer seed: %d", seed)
	rng := rand.New(rand.NewSource(seed))
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		last := uint64(0)
		for k.kills.Load() < most {
			select {
			case <-k.stop:
				return
			case <-time.After(every + time.Duration(rng.Int63n(int64(spread)))):
			}
			progress := jobProgress(n, job)
			if progress <= last {
				continue
			}
			if pids := p.ServingPIDs(); len(pids) > 0 {
				if syscall.Kill(pids[rng.Intn(len(pids))], syscall.SIGKILL) == nil {
					k.kills.Add(1)
					last = progress
				}
			}
		}
	}()
	return k
}

// Stop ends the killing and reports how many workers were killed.
func (k *workerKiller) Stop() int64 {
	close(k.stop)
	k.wg.Wait()
	return k.kills.Load()
}

// jobProgress is the sum of the job's tasks' seqs: it grows with every
// committed call, so with every new checkpoint.
func jobProgress(n *Node, job uint64) (sum uint64) {
	for _, task := range jobTasks(n, job) {
		sum += task.GetSeq()
	}
	return sum
}
