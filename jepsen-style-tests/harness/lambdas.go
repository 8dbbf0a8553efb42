package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
)

// lambdaFunction is the function name `kappa server` invokes by default.
const lambdaFunction = "kappa-worker"

// LambdaWorkers asks this cluster's `kappa lambda-local` which of its
// worker processes are inside an invocation now, and how invocations have
// ended so far. Killing a listed PID crashes an invocation; a worker in
// start-up or idle in the warm pool is not listed (killing it would crash
// nothing). On-coordinator tasks, which run below the nodes, are not
// lambda workers.
func (c *Cluster) LambdaWorkers() (lambdaapi.Workers, error) {
	var w lambdaapi.Workers
	base, client, keyID, secret, err := c.procs.LambdaHTTP()
	if err != nil {
		return w, err
	}
	url := base + strings.Replace(lambdaapi.WorkersPath, "{name}", lambdaFunction, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return w, err
	}
	if keyID != "" {
		if err := lambdaapi.Sign(req, nil, lambdaapi.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, "local"); err != nil {
			return w, err
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return w, fmt.Errorf("asking lambda-local for its workers: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return w, fmt.Errorf("asking lambda-local for its workers: GET %s: %s", url, resp.Status)
	}
	return w, json.NewDecoder(resp.Body).Decode(&w)
}

// LambdaKills is what a lambda killer did: Killed workers that were inside
// an invocation, and Crashed invocations lambda-local saw meanwhile (a
// worker can finish between the listing and the kill; then it crashes
// nothing).
type LambdaKills struct {
	Killed  int
	Crashed int64
}

// KillLambdasEvery kills a random worker inside an invocation after every
// pause drawn from [least, most) until stop is called; stop returns what
// the kills did, once lambda-local has seen every killed worker die.
func (c *Cluster) KillLambdasEvery(least, most time.Duration, seed int64) (stop func() LambdaKills) {
	rng := rand.New(rand.NewSource(seed))
	before, err := c.LambdaWorkers()
	if err != nil {
		c.t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var killed []int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(least + time.Duration(rng.Int63n(int64(most-least)+1))):
			}
			w, err := c.LambdaWorkers()
			if err != nil || len(w.ServingPIDs) == 0 {
				continue
			}
			pid := w.ServingPIDs[rng.Intn(len(w.ServingPIDs))]
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = append(killed, pid)
			}
		}
	}()
	var once sync.Once
	var res LambdaKills
	return func() LambdaKills {
		once.Do(func() {
			close(done)
			wg.Wait()
			res = LambdaKills{Killed: len(killed), Crashed: c.crashesSince(before, killed)}
		})
		return res
	}
}

// crashesSince waits (up to 10 s) until no killed PID is still listed as
// serving, then counts the crashes since before.
func (c *Cluster) crashesSince(before lambdaapi.Workers, killed []int) int64 {
	var now lambdaapi.Workers
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		w, err := c.LambdaWorkers()
		if err == nil {
			now = w
			if !slices.ContainsFunc(killed, func(pid int) bool { return slices.Contains(w.ServingPIDs, pid) }) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	return now.Crashes - before.Crashes
}

// Stopped says whether process pid is stopped by a signal (state T in
// /proc/PID/stat): a SIGSTOP that took effect.
func Stopped(pid int) bool {
	f, ok := procStat(pid)
	return ok && f[0] == "T"
}

// procStat reads the fields of /proc/PID/stat after the command name
// (which is in parentheses and may hold spaces): state, ppid, ….
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(s[i+1:])
	return f, len(f) >= 2
}
