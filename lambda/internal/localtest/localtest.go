// Package localtest starts local lambda platforms on the test handlers in
// python/tests/worker_local/handlers.py, for the tests of packages built on
// lambda/local.
package localtest

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda/local"
)

// Handler routes on event["op"] to one test behaviour.
const Handler = "worker_local.handlers:dispatch"

// Config is a platform configuration on the test handlers: concurrency 2, a
// 30 s default timeout, quiet logs. Platforms on it start Python workers,
// so the tests asking for it skip under -short.
func Config(tb testing.TB) local.Config {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: starts Python worker processes")
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("localtest: cannot locate the source tree")
	}
	testsDir := filepath.Join(filepath.Dir(file), "..", "..", "..", "python", "tests")
	return local.Config{
		Handler:     Handler,
		Env:         []string{"PYTHONPATH=" + testsDir},
		Concurrency: 2,
		Timeout:     30 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// Platform starts a platform from Config adjusted by tune (may be nil),
// closed at cleanup.
func Platform(tb testing.TB, tune func(*local.Config)) *local.Platform {
	tb.Helper()
	cfg := Config(tb)
	if tune != nil {
		tune(&cfg)
	}
	p, err := local.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// Event encodes a dispatch event: op plus extra fields.
func Event(op string, fields map[string]any) []byte {
	m := map[string]any{"op": op}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m) // maps of plain values only
	return b
}

// PythonWithoutKappa is an interpreter that cannot import the kappa
// package: python3 without site-packages (-S) or PYTHONPATH (-I), as on a
// machine where kappa was never installed.
func PythonWithoutKappa(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "python-without-kappa")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec python3 -S -I \"$@\"\n"), 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}
