// Package lambdaapi serves the local lambda platform over AWS Lambda's
// Invoke API, the way `sam local start-lambda` does, so that the same
// aws-sdk-go-v2 Lambda client reaches AWS or this server by endpoint
// configuration alone:
//
//	POST /2015-03-31/functions/{name}/invocations
//
// It answers as Lambda does: RequestResponse invocations with the function's
// payload; function errors, timeouts ("Task timed out after N.NN seconds")
// and runtime exits with 200 and X-Amz-Function-Error: Unhandled; Event
// invocations with 202 before they run; DryRun with 204; LogType=Tail with
// the base64 log tail; an unknown function with 404 ResourceNotFoundException
// and a full concurrency limit with 429 TooManyRequestsException.
//
// One local-only operation, for fault-injecting tests:
//
//	GET /kappa/functions/{name}/workers
//
// lists the PIDs of the workers inside an invocation and counts ended
// invocations by outcome (Workers).
//
// Files by job:
//
//	server.go     Server: functions by name, serving, shutdown
//	functions.go  local platforms per function config, throttling as Lambda
//	invoke.go     the Invoke operation: request parsing and the response
//	events.go     Event invocations: run later, retried while throttled
//	apierror.go   Lambda's error responses (X-Amzn-ErrorType and JSON body)
//	logtail.go    the START/END/REPORT log and its 4 KB tail
//	workers.go    the serving workers' PIDs, for tests that kill them
package lambdaapi
