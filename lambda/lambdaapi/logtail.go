package lambdaapi

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kappa-serverless/kappa/lambda"
)

// maxLogTail is how much of the log LogType=Tail returns, as on Lambda.
const maxLogTail = 4 << 10

// defaultMemoryMB is the memory size reported when the platform has no
// limit; the worker reports the same default to the handler.
const defaultMemoryMB = 128

// invocationLog renders what Lambda writes to CloudWatch for one
// invocation: START, the function's output, the platform's own error line,
// END and REPORT (with Init Duration after a cold start, which clients such
// as awslambda read to tell cold from warm).
func invocationLog(res lambda.Result, memoryMB int) string {
	if memoryMB <= 0 {
		memoryMB = defaultMemoryMB
	}
	var b strings.Builder
	fmt.Fprintf(&b, "START RequestId: %s Version: $LATEST\n", res.RequestID)
	if res.LogTail != "" {
		b.WriteString(strings.TrimSuffix(res.LogTail, "\n"))
		b.WriteByte('\n')
	}
	switch res.Outcome {
	case lambda.Timeout:
		fmt.Fprintf(&b, "%s %s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), res.RequestID, res.Message)
	case lambda.Crash:
		fmt.Fprintf(&b, "RequestId: %s Error: %s\n", res.RequestID, res.Message)
	}
	fmt.Fprintf(&b, "END RequestId: %s\n", res.RequestID)
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t",
		res.RequestID, millis(res.Duration), int64(math.Ceil(millis(res.Duration))), memoryMB)
	if res.ColdStart {
		fmt.Fprintf(&b, "Init Duration: %.2f ms\t", millis(res.InitDuration))
	}
	b.WriteByte('\n')
	return b.String()
}

// logResult is the X-Amz-Log-Result header: the last 4 KB of the log,
// base64-encoded, starting at a character boundary.
func logResult(log string) string {
	if len(log) > maxLogTail {
		log = log[len(log)-maxLogTail:]
		for len(log) > 0 && !utf8.RuneStart(log[0]) {
			log = log[1:]
		}
	}
	return base64.StdEncoding.EncodeToString([]byte(log))
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
