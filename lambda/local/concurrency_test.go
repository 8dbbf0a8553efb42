package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestConcurrencyLimit(t *testing.T) {
	const limit, calls = 2, 5
	p, _ := testPlatform(t, func(c *Config) { c.Concurrency = limit })
	dir := t.TempDir()
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			res, err := p.Invoke(context.Background(), lambda.Invocation{Payload: event("record", map[string]any{"seconds": 0.3, "dir": dir})})
			if err != nil || res.Outcome != lambda.OK {
				t.Errorf("invoke: %v %v %s", err, res.Outcome, res.Message)
			}
		})
	}
	wg.Wait()
	if peak := maxOverlap(t, dir); peak > limit {
		t.Fatalf("%d handlers ran at once, limit %d", peak, limit)
	}
	s := p.Stats()
	if s.PeakBusy > limit || s.Invocations != calls || s.Workers > limit {
		t.Fatalf("stats %+v", s)
	}
}

// maxOverlap reads the intervals the record handler wrote and returns the
// most that were running at one moment.
func maxOverlap(t *testing.T, dir string) int {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type edge struct {
		at    float64
		delta int
	}
	var edges []edge
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var start, end float64
		if _, err := fmt.Sscan(string(b), &start, &end); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		edges = append(edges, edge{start, +1}, edge{end, -1})
	}
	// Ends sort before starts at the same instant: touching is not overlapping.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	running, peak := 0, 0
	for _, e := range edges {
		running += e.delta
		peak = max(peak, running)
	}
	return peak
}

func TestWaitingForASlotRespectsContext(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Concurrency = 1 })
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		invoke(t, p, event("sleep", map[string]any{"seconds": 600}), 2*time.Second)
	}()
	<-started
	eventually(t, 30*time.Second, "the slot to be taken", func() bool { return p.Stats().Busy == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Invoke(ctx, lambda.Invocation{Payload: event("pid", nil)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's deadline", err)
	}
	<-done
}

func TestCancelDuringInvocationKillsWorker(t *testing.T) {
	p, logs := testPlatform(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invoke(ctx, lambda.Invocation{Payload: event("sleep", map[string]any{"seconds": 600})})
		errc <- err
	}()
	var pid int
	eventually(t, 30*time.Second, "the worker to start sleeping", func() bool {
		for _, l := range logs.all() {
			pid = pidsIn(t, l.text)["pid"]
			return pid != 0
		}
		return false
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if !processGone(pid) || p.Stats().Workers != 0 {
		t.Fatalf("worker %d still there: %+v", pid, p.Stats())
	}
}
