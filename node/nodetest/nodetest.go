// Package nodetest is test support shared by the tests of node/, cmd/ and
// jepsen-style-tests/: waiting for a condition, program files and bundles,
// submitting and following jobs, and the check of the FSM's audit record.
//
// It is an exported package rather than node/internal/... on purpose: Go
// lets only code under node/ import node/internal, and the CLI's tests and
// the Jepsen-style harness need these helpers too. It imports nothing of
// package node itself, so node's own tests can use it as well. Only tests
// and test harnesses import it. (lambda/, transport/ and checkpoint/ sit
// below node and keep their own helpers: lambda/internal/localtest and
// checkpoint/redistest.)
package nodetest

import (
	"context"
	"github.com/kappa-serverless/kappa/node/audit"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Eventually polls cond until it holds; the test fails when limit passes
// first, naming what it waited for.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// KeyFile opens the cluster key file at path, first writing one with a
// fresh key id k1 when there is none (a node restarted by a test finds
// the file it had).
func KeyFile(t testing.TB, path string) *checkpoint.KeyFile {
	t.Helper()
	f, err := checkpoint.EnsureKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// WriteFile writes text to a new file name in a fresh temporary directory
// and returns its path.
func WriteFile(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// BundleOf is the program bundle of one file of Python source.
func BundleOf(t testing.TB, source string) []byte {
	t.Helper()
	bundle, _, err := checkpoint.BuildBundle(WriteFile(t, "prog.py", source))
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

// Submit submits a job running source's handler with event (JSON) and
// returns its id; maxLaunches 0 is the cluster's default.
func Submit(t testing.TB, c *kappaclient.Client, source, event, name string, maxLaunches uint32) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := c.Submit(ctx, BundleOf(t, source), []byte(event), name, maxLaunches)
	if err != nil {
		t.Fatal(err)
	}
	return sub.GetJobId()
}

// WaitJob follows a job until it ends and returns its last status; the
// test fails when limit passes first.
func WaitJob(t testing.TB, c *kappaclient.Client, job uint64, limit time.Duration) *wire.JobStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	st, err := c.Watch(ctx, job, func(*wire.JobStatus) {})
	if err != nil {
		t.Fatalf("watching job j%d: %v (last %v)", job, err, st)
	}
	return st
}

// CheckAudit checks, from the FSM's own records, that every task applied
// each of its calls exactly once and without gaps (see audit.Check).
func CheckAudit(a *wire.AuditJobResponse) []string { return audit.Check(a) }
