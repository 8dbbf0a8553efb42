package local

import "context"

// slots limits how many invocations run at once. All admission decisions
// live here, so switching from waiting to Lambda-style throttling errors
// changes only acquire.
type slots struct{ free chan struct{} }

func newSlots(n int) *slots {
	s := &slots{free: make(chan struct{}, n)}
	for range n {
		s.free <- struct{}{}
	}
	return s
}

// acquire waits for a free slot, or gives up when ctx ends or the platform
// closes.
func (s *slots) acquire(ctx context.Context, closing <-chan struct{}) error {
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
