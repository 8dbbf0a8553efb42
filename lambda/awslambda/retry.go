package awslambda

import (
	"context"
	"math/rand/v2"
	"time"
)

// withRetries runs attempt until it succeeds, fails in a way a retry cannot
// mend, or RetryFor has passed; the wait between attempts doubles from
// BackoffMin to BackoffMax, jittered, and at least the server's Retry-After.
// Each attempt gets its own timeout on top of ctx.
func (i *Invoker) withRetries(ctx context.Context, t target, attemptTimeout time.Duration, attempt func(context.Context) error) error {
	start := time.Now()
	delay := i.cfg.BackoffMin
	for n := 1; ; n++ {
		i.attempts.Add(1)
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		err = classify(err, t, ctx)
		e, ok := err.(*Error)
		if !ok {
			return err
		}
		e.Attempts, e.Elapsed = n, time.Since(start)
		i.count(e.Kind)
		if !e.retryable() {
			return e
		}
		wait := max(jitter(delay), min(e.retryAfter, i.cfg.BackoffMax))
		if time.Since(start)+wait > i.cfg.RetryFor {
			return e
		}
		i.cfg.Logger.Debug("aws lambda: retrying", "function", t.function, "attempt", n, "wait", wait, "err", e.Msg)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, i.cfg.BackoffMax)
	}
}

// jitter spreads waits over [d/2, d], so throttled callers do not return in
// step while none waits less than half the backoff.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
