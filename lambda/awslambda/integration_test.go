package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// These tests run the whole path the coordinator uses locally: the SDK
// client, the Invoke API and real worker processes.

func TestOutcomesThroughTheSDK(t *testing.T) {
	i, _ := localStack(t, func(c *local.Config) { c.Timeout = time.Second }, nil)

	first := invoke(t, i, event("remaining", map[string]any{"seconds": 0}))
	wantOutcome(t, first, lambda.OK)
	var ctx map[string]any
	if err := json.Unmarshal(first.Payload, &ctx); err != nil || ctx["request_id"] != first.RequestID || ctx["function_name"] != testFunction {
		t.Fatalf("context %s (err %v), request id %q", first.Payload, err, first.RequestID)
	}
	if !first.ColdStart || first.InitDuration <= 0 || first.Duration <= 0 {
		t.Fatalf("first: cold %v, init %v, duration %v", first.ColdStart, first.InitDuration, first.Duration)
	}
	if again := invoke(t, i, event("echo", nil)); again.ColdStart {
		t.Fatal("the second invocation should be warm")
	}

	res := invoke(t, i, event("fail", map[string]any{"message": "bad input"}))
	wantOutcome(t, res, lambda.FunctionError)
	if res.Message != "ValueError: bad input" || !strings.Contains(res.LogTail, "[ERROR] ValueError: bad input") {
		t.Fatalf("message %q, log %q", res.Message, res.LogTail)
	}

	res = invoke(t, i, event("sleep", map[string]any{"seconds": 60}))
	wantOutcome(t, res, lambda.Timeout)
	if res.Message != "Task timed out after 1.00 seconds" {
		t.Fatalf("message %q", res.Message)
	}

	for _, how := range []string{"kill", "exit"} {
		res = invoke(t, i, event("crash", map[string]any{"how": how}))
		wantOutcome(t, res, lambda.Crash)
		if !strings.HasPrefix(res.Message, "Runtime exited with error: ") || !strings.Contains(res.LogTail, "about to die") {
			t.Fatalf("%s: message %q, log %q", how, res.Message, res.LogTail)
		}
	}
}

// A worker that cannot start comes back at once as a function error of the
// invocation, not a service error retried until the retry budget runs out.
func TestWorkerThatCannotStartThroughTheSDK(t *testing.T) {
	python := localtest.PythonWithoutKappa(t)
	i, _ := localStack(t, func(c *local.Config) { c.Python = python }, nil)
	res := invoke(t, i, event("echo", nil))
	wantOutcome(t, res, lambda.FunctionError)
	if !strings.HasPrefix(res.Message, "Runtime.ImportModuleError: ") || !strings.Contains(res.Message, python) {
		t.Fatalf("message %q", res.Message)
	}
	if s := i.Stats(); s.Attempts != 1 {
		t.Fatalf("stats %+v: want one attempt", s)
	}
}

func TestLogTailThroughTheSDK(t *testing.T) {
	i, _ := localStack(t, nil, nil)
	res := invoke(t, i, event("print_lines", map[string]any{"tag": "t", "n": 3}))
	wantOutcome(t, res, lambda.OK)
	for _, want := range []string{"t out 0", "t out 2", "t err 1"} {
		if !strings.Contains(res.LogTail, want) {
			t.Errorf("log tail lacks %q:\n%s", want, res.LogTail)
		}
	}
	if strings.Contains(res.LogTail, "REPORT") || strings.Contains(res.LogTail, "START") {
		t.Errorf("Lambda's own lines stay out of the tail:\n%s", res.LogTail)
	}
}

func TestUnknownFunctionFailsAtOnce(t *testing.T) {
	i, _ := localStack(t, nil, nil)
	_, err := i.Invoke(context.Background(), lambda.Invocation{Function: "nope", Payload: event("echo", nil)})
	var e *Error
	if !errors.Is(err, ErrFunctionNotFound) || !errors.As(err, &e) || e.Attempts != 1 || e.Status != 404 {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), `function "nope" does not exist at http://`) {
		t.Fatalf("message %q", err)
	}
	if s := i.Stats(); s.Attempts != 1 || s.Invocations != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestThrottlingIsRetriedUntilAllComplete(t *testing.T) {
	const limit = 2
	i, p := localStack(t, func(c *local.Config) { c.Concurrency = limit }, nil)
	var wg sync.WaitGroup
	for range 3 * limit {
		wg.Go(func() {
			res, err := i.Invoke(context.Background(), lambda.Invocation{Payload: event("sleep", map[string]any{"seconds": 0.3})})
			if err != nil || res.Outcome != lambda.OK {
				t.Errorf("invoke: %v %v %s", err, res.Outcome, res.Message)
			}
		})
	}
	wg.Wait()
	s, ps := i.Stats(), p.Stats()
	if s.Invocations != 3*limit || s.Attempts <= s.Invocations || s.Throttles == 0 || ps.Throttles != s.Throttles {
		t.Fatalf("invoker %+v, platform %+v: want retried throttles", s, ps)
	}
	if ps.PeakBusy > limit || ps.Invocations != 3*limit {
		t.Fatalf("platform %+v", ps)
	}
}

func TestFiftyInvocationsUnderConcurrencyFour(t *testing.T) {
	i, p := localStack(t, func(c *local.Config) { c.Concurrency = 4 }, nil)
	var wg sync.WaitGroup
	for n := range 50 {
		wg.Go(func() {
			res, err := i.Invoke(context.Background(), lambda.Invocation{Payload: event("echo", map[string]any{"n": n})})
			if err != nil || res.Outcome != lambda.OK || !strings.Contains(string(res.Payload), `"n":`) {
				t.Errorf("invocation %d: %v %v %s", n, err, res.Outcome, res.Payload)
			}
		})
	}
	wg.Wait()
	if s, ps := i.Stats(), p.Stats(); s.Invocations != 50 || ps.Invocations != 50 || ps.PeakBusy > 4 {
		t.Fatalf("invoker %+v, platform %+v", s, ps)
	}
}

func TestEventInvocationRunsLater(t *testing.T) {
	i, _ := localStack(t, nil, nil)
	dir := t.TempDir()
	id, err := i.InvokeEvent(context.Background(), lambda.Invocation{Payload: event("record", map[string]any{"seconds": 0, "dir": dir})})
	if err != nil || id == "" {
		t.Fatalf("id %q, err %v", id, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(filepath.Join(dir, id)); err == nil {
			return // it ran, under the request id the 202 named
		}
		if time.Now().After(deadline) {
			t.Fatal("the event did not run")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDroppedResponseArrivesAsCrash(t *testing.T) {
	i, p := localStack(t, func(c *local.Config) { c.Faults = local.Faults{Drop: 1} }, nil)
	wantOutcome(t, invoke(t, i, event("echo", nil)), lambda.Crash)
	if s := p.Stats(); s.Dropped != 1 || s.Invocations != 1 {
		t.Fatalf("platform %+v", s)
	}
}
