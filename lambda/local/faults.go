package local

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/kappa-serverless/kappa/lambda"
)

// Faults makes the platform misbehave the way a real one may, for tests of
// the coordinator's claim rule: Lambda can deliver one invocation more than
// once (asynchronous redelivery, a retried request), and a caller can lose a
// response that was sent. The zero value injects nothing.
type Faults struct {
	// Duplicate is the probability that an admitted invocation also runs a
	// second time, concurrently, with the same payload under another request
	// id. The copy waits for a slot even in Throttle mode (it stands for a
	// redelivery, which no caller would see throttled); its result is logged
	// and discarded.
	Duplicate float64
	// Drop is the probability that an invocation runs to its end but the
	// caller gets a Crash instead of the real outcome, as if the response
	// had been lost on its way.
	Drop float64
	// Seed seeds the random choices, so that a failing run can be repeated
	// (with the same order of invocations).
	Seed uint64
}

func (f Faults) enabled() bool { return f.Duplicate > 0 || f.Drop > 0 }

func (f Faults) check() error {
	for _, p := range []float64{f.Duplicate, f.Drop} {
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("fault probability %v is not within [0, 1]", p)
		}
	}
	return nil
}

// faultDice draws the injector's choices from one seeded source.
type faultDice struct {
	cfg Faults
	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultDice(cfg Faults) *faultDice {
	return &faultDice{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6b61707061))}
}

func (d *faultDice) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < p
}

func (d *faultDice) duplicate() bool { return d.roll(d.cfg.Duplicate) }
func (d *faultDice) drop() bool      { return d.roll(d.cfg.Drop) }

// dropped is what the caller sees instead of res when its response is lost:
// a crash, with the log kept so a test can tell what really happened.
func dropped(res lambda.Result) lambda.Result {
	out := crashed(res.RequestID, "Runtime.Unknown",
		"response dropped by fault injection (the function ended with "+res.Outcome.String()+")", "")
	out.RequestID = res.RequestID
	out.Duration = res.Duration
	out.ColdStart = res.ColdStart
	out.InitDuration = res.InitDuration
	out.LogTail = res.LogTail
	return out
}
