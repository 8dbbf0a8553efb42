// Package lambda defines how the coordinator runs one invocation of a
// serverless function, independent of the backend (AWS Lambda or the local
// lambda platform in lambda/local). It knows nothing of Raft or tasks.
package lambda

import (
	"context"
	"strconv"
	"time"
)

// Invocation is one synchronous call of a function.
type Invocation struct {
	Function string        // function name; the local platform serves one worker function and only records it
	Payload  []byte        // the JSON event handed to handler(event, context); empty means {}
	Timeout  time.Duration // 0 = the platform's default
}

// Outcome classifies how an invocation ended. Timeout and Crash are kept
// apart because the coordinator treats a task that hit its deadline
// differently from one whose process died.
type Outcome int

const (
	// OK: the handler returned; Result.Payload is its JSON return value.
	OK Outcome = iota
	// FunctionError: the handler raised (Lambda's "Unhandled"); Result.Payload
	// is {"errorMessage","errorType","stackTrace"}.
	FunctionError
	// Timeout: the platform killed the function at its deadline.
	Timeout
	// Crash: the process died on its own (signal, os._exit, OOM).
	Crash
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "OK"
	case FunctionError:
		return "FunctionError"
	case Timeout:
		return "Timeout"
	case Crash:
		return "Crash"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is what a backend reports for one invocation that it ran.
type Result struct {
	Outcome Outcome
	// Payload is the handler's JSON return value (OK), or Lambda-style error
	// JSON (FunctionError, and also Timeout and Crash so a Lambda API front
	// can return it unchanged).
	Payload   []byte
	Message   string        // one line for humans, e.g. "Task timed out after 1.00 seconds"
	RequestID string        // unique per invocation
	Duration  time.Duration // from handing the request to the worker until the outcome
	ColdStart bool
	// InitDuration is how long the cold start took (runtime start-up and
	// handler import, not counted in Duration); 0 for a warm start or when
	// the backend does not say.
	InitDuration time.Duration
	// LogTail holds the last lines the function printed during the
	// invocation (Lambda's LogType=Tail), newline-separated; may be empty.
	LogTail string
}

// Invoker runs invocations. The error is non-nil only when the platform
// itself could not run the invocation (cannot start the runtime, ctx
// cancelled, platform closed, malformed request); everything the function
// did is reported in Result.
type Invoker interface {
	Invoke(ctx context.Context, inv Invocation) (Result, error)
}
