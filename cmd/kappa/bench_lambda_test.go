package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const relaunchProgram = `
import os, time

def handler(event, context):
    now = time.time()
    with open(event["log"], "a") as f:
        f.write(f"{now} {now + context.get_remaining_time_in_millis() / 1000}\n")
    if not os.path.exists(event["marker"]):
        open(event["marker"], "w").close()
        time.sleep(30)   # past the deadline, with no checkpoint to yield at
    return 1
`

const spawnProgram = `
import time
from kappa import spawn

def child(log, t0):
    with open(log, "a") as f:
        f.write(f"{time.time() - t0}\n")
    return 1

def handler(event, context):
    for _ in range(event["n"]):
        f = spawn(child, (event["log"], time.time()))
        f.wait()
    return event["n"]
`

func readFloats(tb testing.TB, path string) [][]float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row []float64
		for _, f := range strings.Fields(line) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				tb.Fatal(err)
			}
			row = append(row, v)
		}
		out = append(out, row)
	}
	return out
}

func quantiles(b *testing.B, name string, samples []float64) {
	slices.Sort(samples)
	b.ReportMetric(samples[len(samples)/2]*1000, name+"-p50-ms")
	b.ReportMetric(samples[min(len(samples)-1, len(samples)*99/100)]*1000, name+"-p99-ms")
}

// BenchmarkLambdaLatencies measures, through node → SDK → Invoke API →
// local platform (docs/benchmarks.md, "Lambdas"):
//
//   - deadline-relaunch: from a lambda's deadline (it sleeps past it in
//     plain code) until the relaunched task's handler runs again (kill,
//     two commits, a cold start, the program's import and claim);
//
//   - spawn-child: from the parent's spawn() until the child's code runs
//     (checkpoint, commit, launch, invoke, claim, restore);
//
//   - worker-import: `import kappa.worker.handler` in a fresh interpreter,
//     beyond the interpreter's own start.
//
//     go test ./cmd/kappa -run '^$' -bench LambdaLatencies -benchtime 1x
func BenchmarkLambdaLatencies(b *testing.B) {
	for b.Loop() {
		s := startStack(b, lambdaOptions{concurrency: 4, timeout: 2 * time.Second}, false, 4)
		dir := b.TempDir()
		var relaunch []float64
		for i := range 5 {
			log, marker := filepath.Join(dir, fmt.Sprint("relaunch", i)), filepath.Join(dir, fmt.Sprint("marker", i))
			st := s.run(b, relaunchProgram, fmt.Sprintf(`{"log": %q, "marker": %q}`, log, marker))
			rows := readFloats(b, log)
			if st.GetResultJson() != "1" || len(rows) != 2 {
				b.Fatalf("relaunch job: %v, %d starts", st, len(rows))
			}
			relaunch = append(relaunch, rows[1][0]-rows[0][1]) // second start − first deadline
		}
		quantiles(b, "deadline-relaunch", relaunch)

		s = startStack(b, lambdaOptions{concurrency: 4, timeout: time.Minute}, false, 4)
		log := filepath.Join(dir, "spawn")
		if st := s.run(b, spawnProgram, fmt.Sprintf(`{"log": %q, "n": 40}`, log)); st.GetResultJson() != "40" {
			b.Fatalf("spawn job: %v", st)
		}
		var spawn []float64
		for _, r := range readFloats(b, log) {
			spawn = append(spawn, r[0])
		}
		quantiles(b, "spawn-child", spawn)

		var imports []float64
		python := pythonPath("")
		for range 10 {
			bare := timeRun(b, python, "-c", "pass")
			full := timeRun(b, python, "-c", "import kappa.worker.handler")
			imports = append(imports, (full - bare).Seconds())
		}
		quantiles(b, "worker-import", imports)
	}
}

func timeRun(tb testing.TB, name string, args ...string) time.Duration {
	t0 := time.Now()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return time.Since(t0)
}
