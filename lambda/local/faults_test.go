package local

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// recorded lists the request ids the record handler wrote files for.
func recorded(t *testing.T, dir string) []string {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		ids = append(ids, f.Name())
	}
	return ids
}

func TestDuplicateDeliveryRunsASecondCopy(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Faults = Faults{Duplicate: 1, Seed: 1} })
	dir := t.TempDir()
	res := invoke(t, p, event("record", map[string]any{"seconds": 0.2, "dir": dir}), 0)
	wantOutcome(t, res, lambda.OK) // the caller sees the original's result
	eventually(t, 30*time.Second, "the copy to run", func() bool { return len(recorded(t, dir)) == 2 })
	ids := recorded(t, dir)
	if !slices.Contains(ids, res.RequestID) || ids[0] == ids[1] {
		t.Fatalf("ran as %v; the caller's request id is %s", ids, res.RequestID)
	}
	eventually(t, 30*time.Second, "the copy to be counted", func() bool { return p.Stats().Invocations == 2 })
	if s := p.Stats(); s.Duplicates != 1 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestDroppedResponseIsACrashAfterTheFunctionRan(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Faults = Faults{Drop: 1} })
	dir := t.TempDir()
	res := invoke(t, p, event("record", map[string]any{"seconds": 0, "dir": dir}), 0)
	wantOutcome(t, res, lambda.Crash)
	if ids := recorded(t, dir); len(ids) != 1 || ids[0] != res.RequestID {
		t.Fatalf("ran as %v, want once as %s", ids, res.RequestID)
	}
	if e := decode[lambdaError](t, res.Payload); e.ErrorType != "Runtime.Unknown" {
		t.Fatalf("payload %s", res.Payload)
	}
	if s := p.Stats(); s.Dropped != 1 || s.Crashes != 0 || s.Invocations != 1 {
		t.Fatalf("stats %+v: the real outcome is counted, the drop apart", s)
	}
}

func TestFaultsFollowTheSeed(t *testing.T) {
	outcomes := func(seed uint64) []lambda.Outcome {
		p, _ := testPlatform(t, func(c *Config) { c.Faults = Faults{Drop: 0.5, Seed: seed} })
		var out []lambda.Outcome
		for range 16 {
			out = append(out, invoke(t, p, event("echo", nil), 0).Outcome)
		}
		return out
	}
	first, again := outcomes(7), outcomes(7)
	if !slices.Equal(first, again) {
		t.Fatalf("same seed, other choices:\n%v\n%v", first, again)
	}
	if !slices.Contains(first, lambda.OK) || !slices.Contains(first, lambda.Crash) {
		t.Fatalf("p=0.5 over 16 invocations gave %v", first)
	}
}

func TestFaultProbabilitiesAreChecked(t *testing.T) {
	for _, f := range []Faults{{Duplicate: -0.1}, {Drop: 1.5}} {
		if _, err := New(Config{Faults: f}); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
