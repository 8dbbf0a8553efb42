package awslambda

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// BenchmarkInvokeOverhead measures one invocation of a handler that does
// nothing, straight on the platform ("direct") and through the SDK, HTTP
// and the Invoke API ("sdk"); warm reuses a worker, cold starts one each
// time. It reports the p50 and p99 latency; run with a fixed count, e.g.
//
//	go test ./lambda/awslambda -run '^$' -bench InvokeOverhead -benchtime 200x
func BenchmarkInvokeOverhead(b *testing.B) {
	for _, start := range []string{"warm", "cold"} {
		for _, path := range []string{"direct", "sdk"} {
			b.Run(start+"/"+path, func(b *testing.B) {
				i, p := localStack(b, func(c *local.Config) {
					if start == "cold" {
						c.MaxWarm = -1
					}
				}, nil)
				run := func() lambda.Result {
					var res lambda.Result
					var err error
					inv := lambda.Invocation{Payload: event("noop", nil)}
					if path == "direct" {
						res, err = p.Invoke(context.Background(), inv)
					} else {
						res, err = i.Invoke(context.Background(), inv)
					}
					if err != nil || res.Outcome != lambda.OK || res.ColdStart != (start == "cold") {
						b.Fatalf("%v %v cold=%v %s", err, res.Outcome, res.ColdStart, res.Message)
					}
					return res
				}
				if start == "warm" {
					p.Invoke(context.Background(), lambda.Invocation{Payload: event("noop", nil)})
				}
				var took []time.Duration
				for b.Loop() {
					// A cold run waits for the last worker to be gone, so
					// its teardown does not share the CPU with the start.
					for start == "cold" && p.Stats().Workers > 0 {
						time.Sleep(time.Millisecond)
					}
					t0 := time.Now()
					run()
					took = append(took, time.Since(t0))
				}
				slices.Sort(took)
				b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
				b.ReportMetric(ms(took[min(len(took)-1, len(took)*99/100)]), "p99-ms")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
