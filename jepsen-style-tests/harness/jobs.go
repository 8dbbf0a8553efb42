package harness

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// BundleOf builds the program bundle of Python source.
func BundleOf(t testing.TB, source string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog.py")
	if err := os.WriteFile(p, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle, _, err := checkpoint.BuildBundle(p)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

// Submit submits a job running source's handler with event (JSON) and
// returns its id; maxLaunches 0 is the cluster's default.
func (c *Cluster) Submit(source, event, name string, maxLaunches uint32) uint64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.client.Submit(ctx, BundleOf(c.t, source), []byte(event), name, maxLaunches)
	if err != nil {
		c.t.Fatal(err)
	}
	return sub.GetJobId()
}

// WaitJob waits until the job ends (or limit passes) and returns its status.
func (c *Cluster) WaitJob(job uint64, limit time.Duration) *wire.JobStatus {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	st, err := c.client.Watch(ctx, job, func(*wire.JobStatus) {})
	if err != nil {
		c.t.Fatalf("watching job j%d: %v (last %v)", job, err, st)
	}
	return st
}
