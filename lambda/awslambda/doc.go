// Package awslambda is the lambda.Invoker that calls AWS Lambda's Invoke
// API through aws-sdk-go-v2. The coordinator uses it for AWS and, with an
// endpoint URL, for the local lambda platform's Invoke API (lambda/lambdaapi),
// so one code path serves both.
//
// A function's response becomes a lambda.Result: X-Amz-Function-Error means
// a function error, unless the error says "Task timed out after" (Timeout)
// or the runtime exited (Runtime.ExitError, Runtime.Unknown: Crash). The log
// tail is always requested; its REPORT line gives the duration and, after a
// cold start, the init duration.
//
// Errors of the API are classified (classify.go): throttling, service
// errors and an unreachable endpoint are retried here with jittered
// exponential backoff for at most Config.RetryFor (the SDK's own retries are
// off, so attempts are counted and bounded in one place); a missing
// function, denied access, bad credentials and rejected requests end at once
// in an *Error that says what to fix.
//
// Files by job:
//
//	config.go   Config and the SDK client it builds
//	invoker.go  Invoker: Invoke, InvokeEvent, Stats
//	retry.go    the retry loop and its backoff
//	classify.go API errors into kinds, with messages naming the fix
//	result.go   Invoke responses into lambda.Result
package awslambda
