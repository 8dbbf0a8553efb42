package local

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestOK(t *testing.T) {
	p, _ := testPlatform(t, nil)
	res := invoke(t, p, event("echo", map[string]any{"x": []int{1, 2}}), 0)
	wantOutcome(t, res, lambda.OK)
	got := decode[map[string]any](t, res.Payload)
	if got["op"] != "echo" || len(got["x"].([]any)) != 2 {
		t.Fatalf("payload %s", res.Payload)
	}
	if res.RequestID == "" || !res.ColdStart || res.Duration <= 0 {
		t.Fatalf("request id %q, cold %v, duration %v", res.RequestID, res.ColdStart, res.Duration)
	}
}

func TestFunctionError(t *testing.T) {
	p, _ := testPlatform(t, nil)
	res := invoke(t, p, event("fail", map[string]any{"message": "bad input"}), 0)
	wantOutcome(t, res, lambda.FunctionError)
	e := decode[lambdaError](t, res.Payload)
	if e.ErrorType != "ValueError" || e.ErrorMessage != "bad input" {
		t.Fatalf("error %+v", e)
	}
	trace := strings.Join(e.StackTrace, "")
	if !strings.Contains(trace, "handlers.py") || strings.Contains(trace, "kappa/worker/local.py") {
		t.Fatalf("stack trace should show the handler, not the worker loop:\n%s", trace)
	}
	if res.Message != "ValueError: bad input" {
		t.Fatalf("message %q", res.Message)
	}
	if !strings.Contains(res.LogTail, "[ERROR] ValueError: bad input") {
		t.Fatalf("log tail %q", res.LogTail)
	}
}

func TestUnserializableResultIsFunctionError(t *testing.T) {
	p, _ := testPlatform(t, nil)
	res := invoke(t, p, event("unserializable", nil), 0)
	wantOutcome(t, res, lambda.FunctionError)
	e := decode[lambdaError](t, res.Payload)
	if e.ErrorType != "Runtime.MarshalError" || !strings.Contains(e.ErrorMessage, "set") {
		t.Fatalf("error %+v", e)
	}
}

func TestTimeoutKillsWorkerAndChildren(t *testing.T) {
	p, logs := testPlatform(t, nil)
	res := invoke(t, p, event("sleep_with_child", map[string]any{"seconds": 600}), time.Second)
	wantOutcome(t, res, lambda.Timeout)
	if res.Message != "Task timed out after 1.00 seconds" {
		t.Fatalf("message %q", res.Message)
	}
	if e := decode[lambdaError](t, res.Payload); !strings.HasSuffix(e.ErrorMessage, "Task timed out after 1.00 seconds") {
		t.Fatalf("payload %s", res.Payload)
	}
	if res.Duration < time.Second {
		t.Fatalf("duration %v is shorter than the timeout", res.Duration)
	}
	out := logs.of(res.RequestID, "stdout")
	if len(out) != 1 {
		t.Fatalf("stdout %q", out)
	}
	pids := pidsIn(t, out[0])
	// Invoke returns after the worker is reaped; the grandchild may take a
	// moment longer to be reaped by init.
	if !processGone(pids["pid"]) {
		t.Fatalf("worker %d survived its timeout", pids["pid"])
	}
	eventually(t, 10*time.Second, "the worker's child to die", func() bool { return processGone(pids["child"]) })
	if s := p.Stats(); s.Timeouts != 1 || s.Workers != 0 || s.Idle != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCrashIsNotTimeout(t *testing.T) {
	p, _ := testPlatform(t, nil)
	for _, tc := range []struct {
		how, reason string
	}{
		{"kill", "Runtime exited with error: signal: killed"},
		{"exit", "Runtime exited with error: exit status 3"},
	} {
		res := invoke(t, p, event("crash", map[string]any{"how": tc.how}), 30*time.Second)
		wantOutcome(t, res, lambda.Crash)
		if !strings.HasPrefix(res.Message, tc.reason) || !strings.Contains(res.Message, "about to die") {
			t.Fatalf("message %q, want %q with the last output", res.Message, tc.reason)
		}
		if !strings.Contains(res.LogTail, "about to die") {
			t.Fatalf("log tail %q", res.LogTail)
		}
		if e := decode[lambdaError](t, res.Payload); e.ErrorType != "Runtime.ExitError" || !strings.HasSuffix(e.ErrorMessage, "Error: "+tc.reason) {
			t.Fatalf("payload %s", res.Payload)
		}
	}
	if s := p.Stats(); s.Crashes != 2 || s.Timeouts != 0 || s.Workers != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestInvalidPayloadIsRejected(t *testing.T) {
	p, _ := testPlatform(t, nil)
	if _, err := p.Invoke(t.Context(), lambda.Invocation{Payload: []byte("{not json")}); err == nil {
		t.Fatal("want an error for a malformed payload")
	}
}

// ServingPIDs names exactly the workers inside an invocation: killing one
// crashes that invocation; idle workers are not listed.
func TestServingPIDsAreTheWorkersInAnInvocation(t *testing.T) {
	p, _ := testPlatform(t, nil)
	invoke(t, p, event("echo", nil), 30*time.Second) // leaves a warm, idle worker
	if pids := p.ServingPIDs(); len(pids) != 0 || p.Stats().Idle != 1 {
		t.Fatalf("serving %v with %+v, want none", pids, p.Stats())
	}
	done := make(chan lambda.Result)
	go func() {
		res, err := p.Invoke(context.Background(), lambda.Invocation{Function: "test-fn", Payload: event("sleep", map[string]any{"seconds": 30}), Timeout: time.Minute})
		if err != nil {
			res.Message = "Invoke: " + err.Error()
		}
		done <- res
	}()
	var pids []int
	for deadline := time.Now().Add(30 * time.Second); len(pids) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		pids = p.ServingPIDs()
	}
	if len(pids) != 1 {
		t.Fatalf("serving %v during an invocation, want one worker", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wantOutcome(t, <-done, lambda.Crash)
	if pids := p.ServingPIDs(); len(pids) != 0 {
		t.Fatalf("serving %v after the crash", pids)
	}
}
