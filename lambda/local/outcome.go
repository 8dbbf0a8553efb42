package local

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// This file turns what a worker did into a lambda.Result, with Lambda's
// wording and error shapes so an API front can pass them through unchanged.

// lambdaError is Lambda's error payload.
type lambdaError struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

func (e lambdaError) payload() []byte {
	b, _ := json.Marshal(e) // cannot fail: strings only
	return b
}

// errorSummary renders an error payload as "Type: message" on one line.
func errorSummary(payload []byte) string {
	var e lambdaError
	if err := json.Unmarshal(payload, &e); err != nil {
		return oneLine(string(payload))
	}
	return oneLine(e.ErrorType + ": " + e.ErrorMessage)
}

// oneLine keeps the first line of s, bounded, for Result.Message.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	const limit = 300
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

func answered(msg response) lambda.Result {
	if msg.OK {
		return lambda.Result{Outcome: lambda.OK, Payload: msg.Payload, Message: "OK"}
	}
	return functionError(msg.Error)
}

func functionError(payload []byte) lambda.Result {
	return lambda.Result{Outcome: lambda.FunctionError, Payload: payload, Message: errorSummary(payload)}
}

func timedOut(requestID string, timeout time.Duration) lambda.Result {
	msg := fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())
	return lambda.Result{
		Outcome: lambda.Timeout,
		Message: msg,
		Payload: lambdaError{ErrorType: "Sandbox.Timedout", ErrorMessage: "RequestId: " + requestID + " Error: " + msg}.payload(),
	}
}

// crashed reports a worker that died (or broke the protocol) mid-invocation;
// errorType is Lambda's: Runtime.ExitError when the runtime exited,
// Runtime.Unknown otherwise. lastOutput is the last printed line, often the
// reason.
func crashed(requestID, errorType, reason, lastOutput string) lambda.Result {
	msg := reason
	if lastOutput != "" {
		msg += " (last output: " + oneLine(lastOutput) + ")"
	}
	return lambda.Result{
		Outcome: lambda.Crash,
		Message: msg,
		Payload: lambdaError{ErrorType: errorType, ErrorMessage: "RequestId: " + requestID + " Error: " + reason}.payload(),
	}
}

// exitedReason words a runtime exit as Lambda does ("Runtime exited with
// error: signal: killed").
func exitedReason(exitErr error) string {
	return "Runtime exited with error: " + exitReason(exitErr)
}
