package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/lambda"
)

// A leader that cannot reach the lambda platform runs no task, yet keeps
// leadership as long as it reaches its followers. When its invocations
// have failed to reach the platform for longer than
// Config.LambdaUnreachableStepDown, it hands leadership to another voter,
// which may reach it.

// platformHealth decides when the leader is cut off from the lambda
// platform. It is fed what invocations saw and is asked with a time, so the
// rule is testable without a platform. It outlives leadership terms: a node
// that stepped down does not step down again for the same reason within
// one window.
type platformHealth struct {
	window time.Duration // 0: never step down

	mu           sync.Mutex
	failingSince time.Time // first failure since the last answer; zero when none
	lastFailure  time.Time
	lastStepDown time.Time
}

// reset forgets failures seen in an earlier term; the last step-down stays.
func (p *platformHealth) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failingSince, p.lastFailure = time.Time{}, time.Time{}
}

// answered: the platform answered an invocation (whatever the function did).
func (p *platformHealth) answered() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failingSince = time.Time{}
}

// unreachable: an attempt to reach the platform failed at now.
func (p *platformHealth) unreachable(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failingSince.IsZero() {
		p.failingSince = now
	}
	p.lastFailure = now
}

// shouldStepDown reports whether attempts have failed for a whole window
// with no answer in between and failures still coming (an idle leader that
// failed once long ago is not judged), and no step-down for this reason
// happened within the window. It returns how long the failures have lasted.
func (p *platformHealth) shouldStepDown(now time.Time) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.window <= 0 || p.failingSince.IsZero() {
		return false, 0
	}
	failing := now.Sub(p.failingSince)
	if failing < p.window || now.Sub(p.lastFailure) > p.window {
		return false, failing
	}
	if !p.lastStepDown.IsZero() && now.Sub(p.lastStepDown) < p.window {
		return false, failing
	}
	return true, failing
}

// steppedDown records a step-down at now and starts counting afresh.
func (p *platformHealth) steppedDown(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastStepDown = now
	p.failingSince, p.lastFailure = time.Time{}, time.Time{}
}

// platformUnreachable tells errors of the platform's reach (cannot connect,
// or no answer on the connection) from everything the platform answered:
// function errors, timeouts, crashes, throttling and rejections.
func platformUnreachable(err error) bool {
	return errors.Is(err, lambda.ErrPlatformUnreachable)
}

// noteInvocation feeds one finished invocation to the health check.
func (n *Node) noteInvocation(err error) {
	switch {
	case err == nil:
		n.platform.answered()
	case platformUnreachable(err):
		n.platform.unreachable(time.Now())
	}
}

// platformWatch runs while this node leads: it turns the invoker's
// counters into health events and steps down when the rule says so.
func (n *Node) platformWatch(ctx context.Context) {
	if n.platform.window <= 0 {
		return
	}
	n.platform.reset()
	// A backend that counts its attempts shows failures while one invocation
	// is still retrying (awslambda retries an unreachable endpoint for
	// minutes before its Invoke returns).
	counter, _ := n.cfg.Invoker.(lambda.ReachCounter)
	var last lambda.Reach
	if counter != nil {
		last = counter.Reach()
	}
	every(ctx, min(time.Second, n.platform.window/4), func() {
		now := time.Now()
		if counter != nil {
			s := counter.Reach()
			if s.Answered > last.Answered {
				n.platform.answered()
			} else if s.Unreachable > last.Unreachable {
				n.platform.unreachable(now)
			}
			last = s
		}
		ok, failing := n.platform.shouldStepDown(now)
		if !ok || !n.hasOtherVoters() {
			return
		}
		n.platform.steppedDown(now)
		n.log.Warn("stepping down: this leader cannot reach the lambda platform, another node may",
			"failing_for", failing.Round(time.Millisecond), "window", n.platform.window)
		if err := n.handOff(ctx, n.raft.LeadershipTransfer); err != nil {
			n.log.Warn("step-down failed; staying leader", "err", err)
		}
	})
}

// hasOtherVoters reports whether another voter could take leadership.
func (n *Node) hasOtherVoters() bool {
	cfg, err := n.configuration()
	if err != nil {
		return false
	}
	for _, s := range cfg.Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.NodeID {
			return true
		}
	}
	return false
}
