package lambda

import "time"

// Defaults every backend and the coordinator share, so a platform and the
// leader that invokes it agree unless configured otherwise.
const (
	// DefaultFunction is the worker function's name.
	DefaultFunction = "kappa-worker"
	// DefaultTimeout is an invocation's time limit: AWS Lambda's maximum.
	DefaultTimeout = 15 * time.Minute
	// DefaultConcurrency is how many invocations the local platform runs at
	// once, and how many a leader keeps in flight.
	DefaultConcurrency = 8
)
