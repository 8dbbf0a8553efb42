package local

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestThrottleModeRefusesAtOnce(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Concurrency, c.Throttle = 1, true })
	done := make(chan lambda.Result, 1)
	go func() { done <- invoke(t, p, event("sleep", map[string]any{"seconds": 3}), 0) }()
	eventually(t, 30*time.Second, "the only slot to be taken", func() bool { return p.Stats().Busy == 1 })

	_, err := p.Invoke(context.Background(), lambda.Invocation{Payload: event("pid", nil)})
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("err %v, want ErrThrottled", err)
	}
	// Refused while the slot was still taken: it did not wait for it.
	select {
	case res := <-done:
		t.Fatalf("the throttled invocation returned only after the slot's holder ended (%v): it waited instead of failing", res.Outcome)
	default:
	}
	wantOutcome(t, <-done, lambda.OK)
	wantOutcome(t, invoke(t, p, event("pid", nil), 0), lambda.OK) // the slot is free again
	if s := p.Stats(); s.Throttles != 1 || s.Invocations != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemorySizeIsReportedAndLimited(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.MemoryMB = 128 })
	ctx := decode[map[string]any](t, invoke(t, p, event("remaining", map[string]any{"seconds": 0}), 0).Payload)
	if ctx["memory_limit_in_mb"] != "128" {
		t.Fatalf("context.memory_limit_in_mb = %v, want \"128\"", ctx["memory_limit_in_mb"])
	}
	wantOutcome(t, invoke(t, p, event("alloc", map[string]any{"mb": 16}), 0), lambda.OK)
	if runtime.GOOS != "linux" {
		t.Skip("the limit is enforced on Linux only")
	}
	res := invoke(t, p, event("alloc", map[string]any{"mb": 512}), 0)
	wantOutcome(t, res, lambda.FunctionError)
	if !strings.HasPrefix(res.Message, "MemoryError") {
		t.Fatalf("message %q, want a MemoryError", res.Message)
	}
}

func TestNegativeMemoryIsRejected(t *testing.T) {
	if _, err := New(Config{MemoryMB: -1}); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Fatalf("err %v", err)
	}
}
