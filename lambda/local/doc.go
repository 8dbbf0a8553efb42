// Package local is Kappa's own lambda platform: each invocation runs in a
// separate Python worker process (python -m kappa.worker.local) with a
// deadline, a concurrency limit and warm reuse, so the embedded default needs
// no cloud account.
//
// The core knows no transport; a Lambda-API HTTP front can wrap Platform.
// Files by job:
//
//	platform.go  Platform: admission, warm or cold worker, bookkeeping, Close
//	slots.go     the concurrency limit
//	pool.go      idle warm workers and their expiry
//	worker.go    one worker process: start, ready handshake, kill, teardown
//	invoke.go    one invocation on a ready worker: deadline and outcome
//	outcome.go   lambda.Result values in Lambda's wording
//	logs.go      stdout/stderr lines attributed to the running invocation
//	protocol.go  the fd 3/fd 4 length-prefixed JSON messages
package local
