package local

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// Tests run real Python workers with the handlers in
// python/tests/worker_local/handlers.py. Margins are generous: the machine
// may be small and loaded, so tests assert behaviour, never speed.

const testHandler = "worker_local.handlers:dispatch"

// testPlatform starts a platform on the test handlers, closed at cleanup.
func testPlatform(t *testing.T, tune func(*Config)) (*Platform, *logCollector) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Python worker processes")
	}
	testsDir, err := filepath.Abs("../../python/tests")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logCollector{}
	cfg := Config{
		Handler:     testHandler,
		Env:         []string{"PYTHONPATH=" + testsDir},
		Concurrency: 2,
		Timeout:     30 * time.Second,
		LogSink:     logs.add,
	}
	if tune != nil {
		tune(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

// fakeInterpreter is a shell script standing in for python.
func fakeInterpreter(t *testing.T, script string) string {
	path := filepath.Join(t.TempDir(), "python")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// event encodes a dispatch event: op plus extra fields.
func event(op string, fields map[string]any) []byte {
	m := map[string]any{"op": op}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func invoke(t *testing.T, p *Platform, payload []byte, timeout time.Duration) lambda.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := p.Invoke(ctx, lambda.Invocation{Function: "test-fn", Payload: payload, Timeout: timeout})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func wantOutcome(t *testing.T, res lambda.Result, want lambda.Outcome) {
	t.Helper()
	if res.Outcome != want {
		t.Fatalf("outcome %v (%s), want %v; payload %s; logs:\n%s", res.Outcome, res.Message, want, res.Payload, res.LogTail)
	}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// logCollector is a LogSink that keeps every line.
type logCollector struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct{ requestID, stream, text string }

func (c *logCollector) add(requestID, stream string, line []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, logLine{requestID, stream, string(line)})
}

func (c *logCollector) of(requestID, stream string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.requestID == requestID && l.stream == stream {
			out = append(out, l.text)
		}
	}
	return out
}

func (c *logCollector) all() []logLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logLine(nil), c.lines...)
}

// pidsIn parses "key=N" pairs the handlers print, e.g. "pid=12 child=13".
func pidsIn(t *testing.T, line string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if n, err := strconv.Atoi(v); ok && err == nil {
			out[k] = n
		}
	}
	return out
}

// processGone reports whether pid no longer runs. A zombie counts as gone: it
// was killed, and only its (possibly non-reaping) parent keeps the entry.
func processGone(pid int) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil { // no procfs: signal 0 only
		return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state letter follows the parenthesised command name.
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// eventually polls cond until it holds or the limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
