package harness

import (
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Submit submits a job running source's handler with event (JSON) and
// returns its id; maxLaunches 0 is the cluster's default.
func (c *Cluster) Submit(source, event, name string, maxLaunches uint32) uint64 {
	c.t.Helper()
	return nodetest.Submit(c.t, c.Client(), source, event, name, maxLaunches)
}

// WaitJob waits until the job ends (or limit passes) and returns its status.
func (c *Cluster) WaitJob(job uint64, limit time.Duration) *wire.JobStatus {
	c.t.Helper()
	return nodetest.WaitJob(c.t, c.Client(), job, limit)
}
