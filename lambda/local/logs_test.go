package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestLogsAreAttributedToTheirRequest(t *testing.T) {
	p, logs := testPlatform(t, nil)
	const lines = 20
	results := make([]lambda.Result, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			// Two at a time on two workers, then again warm.
			payload := event("print_lines", map[string]any{"tag": fmt.Sprint("t", i), "n": lines, "pause": 0.002})
			res, err := p.Invoke(context.Background(), lambda.Invocation{Payload: payload})
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	for i, res := range results {
		wantOutcome(t, res, lambda.OK)
		for _, stream := range []string{"stdout", "stderr"} {
			got := logs.of(res.RequestID, stream)
			var want []string
			for n := range lines {
				want = append(want, fmt.Sprintf("t%d %s %d", i, stream[3:], n))
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("request %d %s:\n got %q\nwant %q", i, stream, got, want)
			}
		}
		if !strings.Contains(res.LogTail, fmt.Sprintf("t%d out %d", i, lines-1)) {
			t.Fatalf("log tail of request %d: %q", i, res.LogTail)
		}
	}
	for _, l := range logs.all() {
		if strings.Contains(l.text, "kappa:end") {
			t.Fatalf("end marker leaked into the logs: %q", l.text)
		}
	}
}

func TestLogTailKeepsTheLastLines(t *testing.T) {
	p, _ := testPlatform(t, nil)
	const n = 200
	res := invoke(t, p, event("print_lines", map[string]any{"tag": "x", "n": n}), 0)
	tail := strings.Split(res.LogTail, "\n")
	if len(tail) != tailLines {
		t.Fatalf("tail of %d lines: %q", len(tail), res.LogTail)
	}
	// The two streams are read independently, so their lines interleave in
	// any order; but each line in the tail has fewer than tailLines lines
	// after it, so fewer of its own stream.
	for _, line := range tail {
		var stream string
		var i int
		if _, err := fmt.Sscanf(line, "x %s %d", &stream, &i); err != nil || i < n-tailLines {
			t.Fatalf("unexpected tail line %q in %q", line, res.LogTail)
		}
	}
}

func TestContextReportsRemainingTime(t *testing.T) {
	p, _ := testPlatform(t, nil)
	const timeout = 20 * time.Second
	res := invoke(t, p, event("remaining", map[string]any{"seconds": 0.3}), timeout)
	wantOutcome(t, res, lambda.OK)
	got := decode[struct {
		First, Second int64
		RequestID     string `json:"request_id"`
		FunctionName  string `json:"function_name"`
		Memory        string `json:"memory_limit_in_mb"`
		ARN           string `json:"invoked_function_arn"`
		Version       string `json:"function_version"`
		LogGroup      string `json:"log_group_name"`
		LogStream     string `json:"log_stream_name"`
	}](t, res.Payload)
	if got.First <= 0 || got.First > timeout.Milliseconds() || got.Second > got.First-250 {
		t.Fatalf("remaining %d then %d ms with a %v timeout", got.First, got.Second, timeout)
	}
	if got.RequestID != res.RequestID || got.FunctionName != "test-fn" || !strings.HasSuffix(got.ARN, ":function:test-fn") ||
		got.Version != "$LATEST" || got.LogGroup != "/aws/lambda/test-fn" || got.LogStream == "" || got.Memory == "" {
		t.Fatalf("context %+v", got)
	}
}
