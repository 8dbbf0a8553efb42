package local

import (
	"fmt"
	"strings"

	"github.com/kappa-serverless/kappa/lambda"
)

// workerModule is what every worker runs: python -m workerModule.
const workerModule = "kappa.worker.local"

// startFailure is a cold start that never reached "ready": the interpreter
// cannot be run, cannot import the worker, crashed or hung in start-up.
// Lambda answers such an invocation with a function error
// (Runtime.ImportModuleError, Runtime.ExitError, …), not a service error, so
// a caller counts it as a failed launch instead of retrying it for minutes.
type startFailure struct {
	errorType string // Lambda's errorType
	crash     bool   // the runtime died or hung (lambda.Crash), rather than could not load (lambda.FunctionError)
	reason    string // what happened, naming the interpreter
	tail      string // the worker's last line of output, often the cause
}

func (e *startFailure) Error() string {
	msg := "local lambda: worker did not become ready: " + e.reason
	if e.tail != "" {
		msg += "; last output: " + e.tail
	}
	return msg
}

// result is the invocation's answer, with the tail in Lambda's error
// message so it survives the Invoke API.
func (e *startFailure) result(requestID string) lambda.Result {
	detail := e.reason
	if e.tail != "" {
		detail += " (last output: " + oneLine(e.tail) + ")"
	}
	if !e.crash {
		return functionError(lambdaError{ErrorType: e.errorType, ErrorMessage: detail}.payload())
	}
	return lambda.Result{
		Outcome: lambda.Crash,
		Message: oneLine(detail),
		Payload: lambdaError{ErrorType: e.errorType, ErrorMessage: "RequestId: " + requestID + " Error: " + detail}.payload(),
	}
}

// fix is what to do about an interpreter that cannot run the worker.
const fix = "install the kappa package for it, or choose another interpreter (--python)"

func cannotExec(python string, err error) *startFailure {
	return &startFailure{errorType: "Runtime.InvalidEntrypoint",
		reason: fmt.Sprintf("cannot run the worker interpreter %s (%v): %s", python, err, fix)}
}

// exitedBeforeReady words a worker that exited during start-up: an import
// failure when its last words say so, else a runtime exit.
func exitedBeforeReady(python string, exitErr error, tail string) *startFailure {
	if cause := importCause(tail); cause != "" {
		return &startFailure{errorType: "Runtime.ImportModuleError",
			reason: fmt.Sprintf("the worker interpreter %s cannot import %s (%s): %s", python, workerModule, cause, fix)}
	}
	return &startFailure{errorType: "Runtime.ExitError", crash: true, tail: tail,
		reason: fmt.Sprintf("Runtime exited with error: %s before it was ready (interpreter %s)", exitReason(exitErr), python)}
}

// stuckBeforeReady is a start-up that broke the protocol or hung.
func stuckBeforeReady(reason, tail string) *startFailure {
	return &startFailure{errorType: "Runtime.Unknown", crash: true, reason: reason, tail: tail}
}

// importCause is the import error in a worker's last line, e.g.
// "ModuleNotFoundError: No module named 'kappa'" out of python's "…: Error
// while finding module specification for 'kappa.worker.local'
// (ModuleNotFoundError: No module named 'kappa')"; "" when it is none.
func importCause(tail string) string {
	for _, name := range []string{"ModuleNotFoundError", "ImportError"} {
		if i := strings.Index(tail, name); i >= 0 {
			cause := tail[i:]
			if i > 0 && tail[i-1] == '(' {
				cause = strings.TrimSuffix(cause, ")")
			}
			return cause
		}
	}
	return ""
}
