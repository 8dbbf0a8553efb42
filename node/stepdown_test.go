package node

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestPlatformHealthStepsDownAfterAWindowOfFailures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	p := &platformHealth{window: 10 * time.Second}
	p.unreachable(at(0))
	p.unreachable(at(5))
	if ok, _ := p.shouldStepDown(at(9)); ok {
		t.Fatal("stepped down before a whole window of failures")
	}
	p.unreachable(at(9.5))
	ok, failing := p.shouldStepDown(at(10))
	if !ok || failing != 10*time.Second {
		t.Fatalf("after 10s of failures: step down %v (failing %v), want true (10s)", ok, failing)
	}
	p.steppedDown(at(10))
	// Leader again at once, and failing again: no second step-down within the window.
	p.reset()
	for s := 10.0; s < 20; s++ {
		p.unreachable(at(s))
	}
	if ok, _ := p.shouldStepDown(at(19.9)); ok {
		t.Fatal("stepped down twice within one window (flapping)")
	}
	p.unreachable(at(20.5))
	if ok, _ := p.shouldStepDown(at(20.5)); !ok {
		t.Fatal("no second step-down once the window since the first has passed")
	}
}

func TestPlatformHealthAnswerOrSilenceResets(t *testing.T) {
	t0 := time.Unix(1000, 0)
	p := &platformHealth{window: 10 * time.Second}
	p.unreachable(t0)
	p.answered()
	p.unreachable(t0.Add(8 * time.Second))
	if ok, _ := p.shouldStepDown(t0.Add(12 * time.Second)); ok {
		t.Fatal("an answer in between must restart the count")
	}
	// Failed once long ago, idle since: not judged.
	q := &platformHealth{window: 10 * time.Second}
	q.unreachable(t0)
	if ok, _ := q.shouldStepDown(t0.Add(time.Minute)); ok {
		t.Fatal("an idle leader with one old failure stepped down")
	}
	off := &platformHealth{}
	off.unreachable(t0)
	off.unreachable(t0.Add(time.Hour))
	if ok, _ := off.shouldStepDown(t0.Add(time.Hour)); ok {
		t.Fatal("window 0 must mean never")
	}
}

func TestPlatformUnreachableOnlyForReachErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		// Backends wrap their reach errors so they match the sentinel
		// (awslambda's kinds are tested in its package).
		{lambda.ErrPlatformUnreachable, true},
		{fmt.Errorf("invoke kappa-worker: %w", lambda.ErrPlatformUnreachable), true},
		{fmt.Errorf("throttled: %w", errors.New("lambda invocations throttled")), false},
		{context.Canceled, false},
		{errors.New("runtime failed to start"), false},
	} {
		if got := platformUnreachable(c.err); got != c.want {
			t.Errorf("platformUnreachable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
