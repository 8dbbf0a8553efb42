package lambdaapi

import (
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/local"
)

var testEvent = localtest.Event

func TestRequestResponse(t *testing.T) {
	url, _ := serve(t, func(c *local.Config) { c.MemoryMB = 256 })
	r := post(t, url, "fn", testEvent("remaining", map[string]any{"seconds": 0}))
	if r.status != http.StatusOK || r.header.Get("X-Amz-Function-Error") != "" || r.header.Get("X-Amz-Executed-Version") != "$LATEST" {
		t.Fatalf("status %d, headers %v, body %s", r.status, r.header, r.body)
	}
	ctx := r.json(t)
	if ctx["request_id"] != r.header.Get("X-Amzn-RequestId") || ctx["function_name"] != "fn" || ctx["memory_limit_in_mb"] != "256" {
		t.Fatalf("context %v, request id header %q", ctx, r.header.Get("X-Amzn-RequestId"))
	}
	if r.header.Get("X-Amz-Log-Result") != "" {
		t.Fatal("a log tail without LogType=Tail")
	}
}

func TestFunctionAddressing(t *testing.T) {
	url, _ := serve(t, nil)
	for _, name := range []string{"fn:$LATEST", "123456789012:function:fn", "arn:aws:lambda:us-east-1:123456789012:function:fn"} {
		if r := post(t, url, name, testEvent("echo", nil)); r.status != http.StatusOK {
			t.Errorf("%s: status %d %s", name, r.status, r.body)
		}
	}
	for _, name := range []string{"nope", "fn:7", "arn:aws:lambda:us-east-1:123456789012:function:nope"} {
		body := post(t, url, name, nil).wantAPIError(t, http.StatusNotFound, "ResourceNotFoundException")
		if msg, _ := body["Message"].(string); !strings.HasPrefix(msg, "Function not found: arn:aws:lambda:local:000000000000:function:") {
			t.Errorf("%s: body %v", name, body)
		}
	}
}

func TestUnhandledErrors(t *testing.T) {
	url, _ := serve(t, func(c *local.Config) { c.Timeout = time.Second })
	for _, tc := range []struct {
		name      string
		payload   []byte
		errorType string
		message   string
	}{
		{"function error", testEvent("fail", map[string]any{"message": "bad input"}), "ValueError", "bad input"},
		{"timeout", testEvent("sleep", map[string]any{"seconds": 60}), "Sandbox.Timedout", "Task timed out after 1.00 seconds"},
		{"crash", testEvent("crash", nil), "Runtime.ExitError", "Runtime exited with error: signal: killed"},
	} {
		r := post(t, url, "fn", tc.payload)
		body := r.json(t)
		if r.status != http.StatusOK || r.header.Get("X-Amz-Function-Error") != "Unhandled" ||
			body["errorType"] != tc.errorType || !strings.Contains(body["errorMessage"].(string), tc.message) {
			t.Errorf("%s: status %d, function error %q, body %s", tc.name, r.status, r.header.Get("X-Amz-Function-Error"), r.body)
		}
	}
}

// A worker that cannot start is the function's error, as on Lambda: not a
// ServiceException the caller would retry for minutes.
func TestWorkerThatCannotStartIsUnhandled(t *testing.T) {
	python := localtest.PythonWithoutKappa(t)
	url, _ := serve(t, func(c *local.Config) { c.Python = python })
	r := post(t, url, "fn", testEvent("echo", nil))
	body := r.json(t)
	msg, _ := body["errorMessage"].(string)
	if r.status != http.StatusOK || r.header.Get("X-Amz-Function-Error") != "Unhandled" || body["errorType"] != "Runtime.ImportModuleError" ||
		!strings.Contains(msg, python) || !strings.Contains(msg, "No module named 'kappa'") {
		t.Fatalf("status %d, function error %q, body %s", r.status, r.header.Get("X-Amz-Function-Error"), r.body)
	}
}

func TestLogTail(t *testing.T) {
	url, _ := serve(t, nil)
	for i, cold := range []bool{true, false} {
		r := post(t, url, "fn", testEvent("print_lines", map[string]any{"tag": "hello", "n": 2}), "X-Amz-Log-Type", "Tail")
		raw, err := base64.StdEncoding.DecodeString(r.header.Get("X-Amz-Log-Result"))
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("status %d, log result %v", r.status, err)
		}
		log, id := string(raw), r.header.Get("X-Amzn-RequestId")
		for _, want := range []string{"START RequestId: " + id + " Version: $LATEST\n", "hello out 1", "hello err 0", "END RequestId: " + id, "REPORT RequestId: " + id + "\tDuration: "} {
			if !strings.Contains(log, want) {
				t.Errorf("invocation %d: log lacks %q:\n%s", i, want, log)
			}
		}
		if strings.Contains(log, "Init Duration: ") != cold {
			t.Errorf("invocation %d (cold %v): log\n%s", i, cold, log)
		}
	}
}

func TestLogResultKeepsTheLast4KB(t *testing.T) {
	log := strings.Repeat("é", 5000) + "REPORT\n"
	raw, err := base64.StdEncoding.DecodeString(logResult(log))
	if err != nil || len(raw) > maxLogTail || !strings.HasSuffix(string(raw), "REPORT\n") || !strings.HasPrefix(string(raw), "é") {
		t.Fatalf("%d bytes, err %v", len(raw), err)
	}
}

func TestThrottledIs429(t *testing.T) {
	url, p := serve(t, func(c *local.Config) { c.Concurrency = 1 })
	done := make(chan reply, 1)
	go func() { done <- post(t, url, "fn", testEvent("sleep", map[string]any{"seconds": 1})) }()
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Busy == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	body := post(t, url, "fn", testEvent("echo", nil)).wantAPIError(t, http.StatusTooManyRequests, "TooManyRequestsException")
	if body["Reason"] != "ConcurrentInvocationLimitExceeded" || body["message"] != "Rate Exceeded." {
		t.Fatalf("body %v", body)
	}
	if r := <-done; r.status != http.StatusOK {
		t.Fatalf("the running invocation: %d %s", r.status, r.body)
	}
}

func TestEventRunsLaterEvenWhenThrottled(t *testing.T) {
	url, _ := serve(t, func(c *local.Config) { c.Concurrency = 1 })
	dir := t.TempDir()
	var ids []string
	for range 3 {
		r := post(t, url, "fn", testEvent("record", map[string]any{"seconds": 0.2, "dir": dir}), "X-Amz-Invocation-Type", "Event")
		if r.status != http.StatusAccepted || len(r.body) != 0 {
			t.Fatalf("status %d, body %q", r.status, r.body)
		}
		ids = append(ids, r.header.Get("X-Amzn-RequestId"))
	}
	// Each event runs under the request id it was accepted with.
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			if _, err := os.Stat(dir + "/" + id); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %s did not run", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestBadRequests(t *testing.T) {
	url, p := serve(t, nil)
	post(t, url, "fn", []byte("{not json")).wantAPIError(t, http.StatusBadRequest, "InvalidRequestContentException")
	post(t, url, "fn", nil, "X-Amz-Invocation-Type", "Sometimes").wantAPIError(t, http.StatusBadRequest, "InvalidParameterValueException")
	post(t, url, "fn", nil, "X-Amz-Log-Type", "Everything").wantAPIError(t, http.StatusBadRequest, "InvalidParameterValueException")
	big := []byte(`"` + strings.Repeat("x", maxAsyncPayload) + `"`)
	post(t, url, "fn", big, "X-Amz-Invocation-Type", "Event").wantAPIError(t, http.StatusRequestEntityTooLarge, "RequestTooLargeException")
	if r := post(t, url, "fn", nil, "X-Amz-Invocation-Type", "DryRun"); r.status != http.StatusNoContent {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	resp, err := http.Get(url + "/2015-03-31/functions/fn")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Fatalf("GetFunction: %d %v", resp.StatusCode, resp.Header)
	}
	if n := p.Stats().Invocations; n != 0 {
		t.Fatalf("%d invocations ran for bad requests", n)
	}
}
