// Package local is Kappa's own lambda platform: each invocation runs in a
// separate Python worker process (python -m kappa.worker.local) with a
// deadline, a concurrency limit and warm reuse, so the embedded default needs
// no cloud account.
//
// The core knows no transport; lambda/lambdaapi serves it over Lambda's
// Invoke API (with Config.Throttle set, as Lambda throttles).
//
// Files by job:
//
//	platform.go    Platform: admission, warm or cold worker, bookkeeping, Close
//	slots.go       the concurrency limit: wait for a slot, or throttle (Lambda's way)
//	faults.go      test mode: duplicate deliveries and dropped responses
//	memlimit_*.go  the memory size as an address-space limit (best effort)
//	pool.go        idle warm workers and their expiry
//	worker.go      one worker process: start, ready handshake, kill, teardown
//	invoke.go      one invocation on a ready worker: deadline and outcome
//	outcome.go     lambda.Result values in Lambda's wording
//	logs.go        stdout/stderr lines attributed to the running invocation
//	protocol.go    the fd 3/fd 4 length-prefixed JSON messages
package local
