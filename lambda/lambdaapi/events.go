package lambdaapi

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// Backoff of an Event invocation while its function is throttled.
const (
	eventBackoffMin = 20 * time.Millisecond
	eventBackoffMax = time.Second
)

// enqueue accepts an Event invocation and runs it in the background, as
// Lambda's asynchronous queue does: throttled attempts are retried until
// MaxEventAge, function errors are not (the worker function is deployed
// with zero retries). False means the server is closing.
func (s *Server) enqueue(fn *local.Platform, requestID string, inv lambda.Invocation) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.events.Add(1)
	go s.runEvent(fn, requestID, inv, time.Now())
	return true
}

func (s *Server) runEvent(fn *local.Platform, requestID string, inv lambda.Invocation, accepted time.Time) {
	defer s.events.Done()
	log := s.cfg.Logger.With("function", inv.Function, "request_id", requestID)
	backoff := eventBackoffMin
	for {
		res, err := fn.InvokeWithID(s.ctx, requestID, inv)
		switch {
		case err == nil:
			log.Debug("lambda API event invocation", "outcome", res.Outcome.String(), "duration", res.Duration, "message", res.Message)
			return
		case !errors.Is(err, local.ErrThrottled):
			log.Warn("lambda API event invocation failed", "err", err)
			return
		case time.Since(accepted) > s.cfg.MaxEventAge:
			log.Warn("lambda API event dropped: throttled for longer than its maximum age", "max_age", s.cfg.MaxEventAge)
			return
		}
		select {
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		case <-s.ctx.Done():
			log.Warn("lambda API event dropped: server closed while it was throttled")
			return
		}
		backoff = min(2*backoff, eventBackoffMax)
	}
}
