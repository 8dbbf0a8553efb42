package main

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// unzip extracts a zip into dir, as Lambda does into /var/task.
func unzip(t *testing.T, file, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, f.Mode().Perm())
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(out, rc)
		rc.Close()
		out.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The function zip holds everything the worker needs: its handler imports
// in a virtual environment with nothing installed, and a whole job runs on
// workers that have only the zip (the local platform standing in for
// Lambda's runtime). pip fetches the wheels from PyPI (or its cache).
func TestDeployZipRunsInACleanVirtualEnvironment(t *testing.T) {
	dir := t.TempDir()
	zipFile := filepath.Join(dir, "function.zip")
	r := kappa(t, "deploy", "--function", "kappa-worker", "--dry-run", "-o", zipFile, "--timeout", "120")
	if r.code != 0 {
		t.Fatalf("deploy --dry-run: %+v", r)
	}
	for _, call := range []string{"GetFunction FunctionName=kappa-worker", "CreateFunction FunctionName=kappa-worker", "Handler=kappa.worker.handler.handler",
		"UpdateFunctionCode", "UpdateFunctionConfiguration", "PutFunctionEventInvokeConfig FunctionName=kappa-worker MaximumRetryAttempts=0", "Timeout=120"} {
		if !strings.Contains(r.stdout, call) {
			t.Errorf("dry run does not print %q:\n%s", call, r.stdout)
		}
	}
	task := filepath.Join(dir, "task")
	unzip(t, zipFile, task)
	venv := filepath.Join(dir, "venv")
	if out, err := exec.Command("python3", "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	python := filepath.Join(venv, "bin", "python")
	env := append(os.Environ(), "PYTHONPATH="+task) // replaces the worktree's PYTHONPATH

	// Lambda's runtime imports the handler module and calls it.
	check := exec.Command(python, "-c", `
import sys
import grpc, google.protobuf, redis, kappa, rt
from kappa.worker.handler import handler
for m in (grpc, google.protobuf, redis, kappa, rt):
    assert m.__file__.startswith(sys.argv[1]), m.__file__
try:
    handler({}, None)
except ValueError as e:
    print(e)
`, task)
	check.Env = env
	out, err := check.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not a Kappa invocation") {
		t.Fatalf("handler in a clean venv: %v\n%s", err, out)
	}

	// A job whose workers have only the zip.
	run := exec.Command(nodetest.KappaBinary(t), "run", example("fib.py"), "--event", `{"n": 7}`, "--python", python)
	run.Env = env
	got, err := run.Output()
	if err != nil || strings.TrimSpace(string(got)) != "13" {
		t.Fatalf("run with workers from the zip: %v %q", err, got)
	}
}
