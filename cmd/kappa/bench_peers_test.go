package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// `make bench-peers` in its Kappa-only smoke mode: the fan-out and durable
// step programs it runs on Kappa succeed (their results are checked by the
// driver), every peer gets a row that says why it did not run, and the
// standard-library floors are measured. No timing is asserted.
func TestBenchPeersKappaOnlyQuick(t *testing.T) {
	bin := nodetest.KappaBinary(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "bench-peers.sh"), "--sizes", "20", "--steps", "10")
	cmd.Env = append(os.Environ(), "KAPPA_BIN="+bin, "KAPPA_ONLY=1", "QUICK=1", "ONLY=fanout,steps",
		"KAPPA_PEERS="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("bench-peers: %v\n%s\n%s", err, out, stderr)
	}
	table := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\| fan-out/fan-in of 20 trivial tasks \| Kappa, embedded default \| [0-9.]+ s in the job \|`),
		regexp.MustCompile(`\| fan-out/fan-in of 20 trivial tasks \| multiprocessing.Pool \(2 processes\) \| [0-9.]+ s \| [0-9.]+×`),
		regexp.MustCompile(`\| 10 sequential durable steps, 10 KB state: p50 / p99 per step \| Kappa ` + "`checkpoint\\(\\)`" + `, embedded default \| [0-9.]+ / [0-9.]+ ms \|`),
		regexp.MustCompile(`\| floor: write \+ fsync a 10 KB file \| [0-9.]+ / [0-9.]+ ms \|`),
	} {
		if !want.MatchString(table) {
			t.Errorf("no row matching %s in:\n%s", want, table)
		}
	}
	for _, peer := range []string{"Ray local", "Lithops localhost", "Temporal dev server, one activity per task",
		"Temporal, one local activity per step"} {
		if !strings.Contains(table, "| "+peer+" | unavailable: not run (KAPPA_ONLY) |") {
			t.Errorf("peer %q has no 'unavailable' row in:\n%s", peer, table)
		}
	}
}
