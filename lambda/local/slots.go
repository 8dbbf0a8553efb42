package local

import (
	"context"
	"errors"
)

// ErrThrottled is returned by Invoke when Config.Throttle is set and every
// concurrency slot is taken: the invocation did not run, as with Lambda's
// TooManyRequestsException, and the caller may retry it later.
var ErrThrottled = errors.New("local lambda: throttled: the concurrency limit is reached")

// slots limits how many invocations run at once. All admission decisions
// live here.
type slots struct{ free chan struct{} }

func newSlots(n int) *slots {
	s := &slots{free: make(chan struct{}, n)}
	for range n {
		s.free <- struct{}{}
	}
	return s
}

// acquire takes a free slot. When none is free it fails at once with
// ErrThrottled if throttle is set, or else waits until one frees up, ctx ends
// or the platform closes.
func (s *slots) acquire(ctx context.Context, closing <-chan struct{}, throttle bool) error {
	select {
	case <-s.free:
		return nil
	default:
	}
	if throttle {
		return ErrThrottled
	}
	select {
	case <-s.free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return ErrClosed
	}
}

func (s *slots) release() { s.free <- struct{}{} }
