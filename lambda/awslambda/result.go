package awslambda

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/kappa-serverless/kappa/lambda"
)

// timedOut is how Lambda words a timeout, with or without errorType
// Sandbox.Timedout depending on the runtime's age.
var timedOut = regexp.MustCompile(`Task timed out after [0-9.]+ seconds`)

// crashTypes are the errorTypes of a runtime that died rather than a
// handler that raised.
var crashTypes = map[string]bool{"Runtime.ExitError": true, "Runtime.Unknown": true, "Runtime.OutOfMemory": true}

// reportField finds "\tDuration: 12.34 ms" and "\tInit Duration: …" in a
// REPORT line; the tab keeps "Billed Duration" out.
var reportField = regexp.MustCompile(`\t(Init Duration|Duration): ([0-9.]+) ms`)

// resultOf turns an Invoke response into a lambda.Result. roundTrip stands
// in for the duration when the log has no REPORT line.
func resultOf(out *lambdasdk.InvokeOutput, requestID string, roundTrip time.Duration) lambda.Result {
	res := lambda.Result{RequestID: requestID, Payload: out.Payload, Duration: roundTrip, Outcome: lambda.OK, Message: "OK"}
	if out.LogResult != nil {
		if raw, err := base64.StdEncoding.DecodeString(*out.LogResult); err == nil {
			res.LogTail = readLog(string(raw), &res)
		}
	}
	if out.FunctionError == nil || *out.FunctionError == "" {
		return res
	}
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	_ = json.Unmarshal(out.Payload, &e) // a body that is no error JSON still is a function error
	switch {
	case timedOut.MatchString(e.ErrorMessage) || e.ErrorType == "Sandbox.Timedout":
		res.Outcome = lambda.Timeout
		res.Message = timedOut.FindString(e.ErrorMessage)
		if res.Message == "" {
			res.Message = e.ErrorMessage
		}
	case crashTypes[e.ErrorType]:
		res.Outcome = lambda.Crash
		// "RequestId: <id> Error: Runtime exited with error: signal: killed"
		_, reason, found := strings.Cut(e.ErrorMessage, " Error: ")
		if !found {
			reason = e.ErrorMessage
		}
		res.Message = firstLine(reason)
	default:
		res.Outcome = lambda.FunctionError
		switch {
		case e.ErrorType != "":
			res.Message = firstLine(e.ErrorType + ": " + e.ErrorMessage)
		default:
			res.Message = firstLine(string(out.Payload))
		}
	}
	return res
}

// readLog reads durations from the REPORT line into res and returns the
// function's own lines, without Lambda's START, END and REPORT.
func readLog(log string, res *lambda.Result) string {
	var kept []string
	for _, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "REPORT RequestId:"):
			for _, m := range reportField.FindAllStringSubmatch(line, -1) {
				ms, err := strconv.ParseFloat(m[2], 64)
				if err != nil {
					continue
				}
				d := time.Duration(ms * float64(time.Millisecond))
				if m[1] == "Init Duration" {
					res.ColdStart, res.InitDuration = true, max(d, time.Nanosecond)
				} else {
					res.Duration = d
				}
			}
		case strings.HasPrefix(line, "START RequestId:"), strings.HasPrefix(line, "END RequestId:"), strings.HasPrefix(line, "INIT_START "):
		default:
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// firstLine bounds a message to one line for Result.Message.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
