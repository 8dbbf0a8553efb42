package lambdaapi

import (
	"fmt"

	"github.com/kappa-serverless/kappa/lambda/local"
)

// StartFunctions creates one local platform per function, each with its own
// timeout, memory size and concurrency, and with Throttle set so that a full
// concurrency limit is answered with 429 as on Lambda. Close them with
// CloseFunctions once the server is done.
func StartFunctions(cfgs map[string]local.Config) (map[string]*local.Platform, error) {
	fns := make(map[string]*local.Platform, len(cfgs))
	for name, cfg := range cfgs {
		cfg.Throttle = true
		p, err := local.New(cfg)
		if err != nil {
			CloseFunctions(fns)
			return nil, fmt.Errorf("function %q: %w", name, err)
		}
		fns[name] = p
	}
	return fns, nil
}

// CloseFunctions closes every platform, killing their workers.
func CloseFunctions(fns map[string]*local.Platform) {
	for _, p := range fns {
		p.Close()
	}
}
