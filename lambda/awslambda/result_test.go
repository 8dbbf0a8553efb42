package awslambda

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestResultsAsAWSWordsThem(t *testing.T) {
	for _, tc := range []struct {
		name, functionError, payload string
		outcome                      lambda.Outcome
		message                      string
	}{
		{"ok", "", `{"a":1}`, lambda.OK, "OK"},
		{"raised", "Unhandled", `{"errorMessage":"bad\nmore","errorType":"ValueError","stackTrace":[]}`, lambda.FunctionError, "ValueError: bad"},
		{"import", "Unhandled", `{"errorMessage":"Unable to import module 'x'","errorType":"Runtime.ImportModuleError"}`, lambda.FunctionError, "Runtime.ImportModuleError: Unable to import module 'x'"},
		{"not JSON", "Unhandled", `oops`, lambda.FunctionError, "oops"},
		{"timeout, old runtimes", "Unhandled", `{"errorMessage":"2024-01-02T03:04:05.678Z 1f2e Task timed out after 3.00 seconds"}`, lambda.Timeout, "Task timed out after 3.00 seconds"},
		{"timeout, new runtimes", "Unhandled", `{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: 1f2e Error: Task timed out after 900.00 seconds"}`, lambda.Timeout, "Task timed out after 900.00 seconds"},
		{"exit", "Unhandled", `{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1f2e Error: Runtime exited with error: signal: killed"}`, lambda.Crash, "Runtime exited with error: signal: killed"},
		{"unknown", "Unhandled", `{"errorType":"Runtime.Unknown","errorMessage":"Unknown application error occurred"}`, lambda.Crash, "Unknown application error occurred"},
	} {
		out := &lambdasdk.InvokeOutput{Payload: []byte(tc.payload)}
		if tc.functionError != "" {
			out.FunctionError = aws.String(tc.functionError)
		}
		res := resultOf(out, "1f2e", time.Second)
		if res.Outcome != tc.outcome || res.Message != tc.message || res.RequestID != "1f2e" || res.Duration != time.Second {
			t.Errorf("%s: %v %q, want %v %q", tc.name, res.Outcome, res.Message, tc.outcome, tc.message)
		}
	}
}

func TestReportLineGivesDurations(t *testing.T) {
	log := "START RequestId: 1f2e Version: $LATEST\nhello\nEND RequestId: 1f2e\n" +
		"REPORT RequestId: 1f2e\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 150.25 ms\t\n"
	out := &lambdasdk.InvokeOutput{Payload: []byte(`null`), LogResult: aws.String(base64.StdEncoding.EncodeToString([]byte(log)))}
	res := resultOf(out, "1f2e", time.Second)
	if res.LogTail != "hello" || res.Duration != 12500*time.Microsecond || !res.ColdStart || res.InitDuration != 150250*time.Microsecond {
		t.Fatalf("%+v", res)
	}
	warm := "REPORT RequestId: 1f2e\tDuration: 1.00 ms\tBilled Duration: 1 ms\t\n"
	out.LogResult = aws.String(base64.StdEncoding.EncodeToString([]byte(warm)))
	if res := resultOf(out, "1f2e", time.Second); res.ColdStart || res.Duration != time.Millisecond || res.LogTail != "" {
		t.Fatalf("%+v", res)
	}
}
