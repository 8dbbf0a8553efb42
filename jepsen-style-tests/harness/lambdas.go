package harness

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LambdaWorkers lists the PIDs of this cluster's lambda worker processes:
// the Python processes running kappa.worker.local below its
// `kappa lambda-local` (found through /proc). On-coordinator tasks, which
// run below the nodes, are not among them.
func (c *Cluster) LambdaWorkers() []int {
	root := c.lambda.PID()
	if root == 0 {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	parents := map[int]int{}
	var workers []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, ok := parentOf(pid)
		if !ok {
			continue
		}
		parents[pid] = ppid
		if cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && strings.Contains(string(cmd), "kappa.worker.local") {
			workers = append(workers, pid)
		}
	}
	var mine []int
	for _, pid := range workers {
		for p, hops := parents[pid], 0; p > 1 && hops < 16; p, hops = parents[p], hops+1 {
			if p == root {
				mine = append(mine, pid)
				break
			}
		}
	}
	return mine
}

// parentOf reads the parent PID from /proc/PID/stat (the field after the
// command name, which is in parentheses and may hold spaces).
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// KillRandomLambda SIGKILLs one lambda worker process chosen by rng and
// returns its PID (0 if none runs).
func (c *Cluster) KillRandomLambda(rng *rand.Rand) int {
	workers := c.LambdaWorkers()
	if len(workers) == 0 {
		return 0
	}
	pid := workers[rng.Intn(len(workers))]
	if syscall.Kill(pid, syscall.SIGKILL) != nil {
		return 0
	}
	return pid
}

// KillLambdasEvery kills a random lambda worker after every pause drawn
// from [min, max) until stop is called; stop returns how many it killed.
func (c *Cluster) KillLambdasEvery(min, max time.Duration, seed int64) (stop func() int) {
	rng := rand.New(rand.NewSource(seed))
	done := make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(min + time.Duration(rng.Int63n(int64(max-min)+1))):
			}
			if c.KillRandomLambda(rng) != 0 {
				kills++
			}
		}
	}()
	var once sync.Once
	return func() int {
		once.Do(func() { close(done); wg.Wait() })
		return kills
	}
}
