package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// A worker interpreter without the kappa package is refused once, at
// start, in one line that names it and the fix: no job is left to hang.
func TestWorkerInterpreterWithoutKappaIsRefusedAtStart(t *testing.T) {
	python := pythonWithoutKappa(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "cluster.keys")
	if r := kappa(t, "keys", "generate", keys); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, args := range [][]string{
		{"run", example("fib.py")},
		{"server", "--node-id", "n1", "--data-dir", dir, "--bootstrap", "--raft-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--insecure", "--cluster-key-file", keys},
		{"lambda-local", "--addr", "127.0.0.1:0", "--insecure"},
	} {
		r := kappa(t, append(args, "--python", python)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "the worker interpreter "+python+" cannot import the kappa package") ||
			!strings.Contains(lines[0], "make install") || !strings.Contains(lines[0], "--python") {
			t.Errorf("kappa %s: exit %d, stderr %q; want one line naming %s and the fix", args[0], r.code, r.stderr, python)
		}
	}
	r := kappa(t, "run", example("fib.py"), "--python", filepath.Join(dir, "no-such-python"))
	if r.code != 2 || !strings.Contains(r.stderr, "cannot run the worker interpreter "+filepath.Join(dir, "no-such-python")) {
		t.Errorf("missing interpreter: exit %d, stderr %q", r.code, r.stderr)
	}
}

// The interpreter is --python, else $KAPPA_PYTHON, else the .venv beside
// the executable's bin/ (what `make install` makes), else python3.
func TestWorkerInterpreterChoice(t *testing.T) {
	real, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	used := filepath.Join(root, "used")
	// Each candidate records its name, then runs the real interpreter.
	candidate := func(path, name string) string {
		script := "#!/bin/sh\necho " + name + " >> " + used + "\nexec " + real + " \"$@\"\n"
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bin := filepath.Join(root, "checkout", "bin", "kappa")
	kappaBin := nodetest.KappaBinary(t)
	exe, err := os.ReadFile(kappaBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	candidate(filepath.Join(root, "checkout", ".venv", "bin", "python"), "venv")
	envPython := candidate(filepath.Join(root, "env-python"), "env")
	flagPython := candidate(filepath.Join(root, "flag-python"), "flag")
	candidate(filepath.Join(root, "path", "python3"), "path")
	path := filepath.Join(root, "path") + string(os.PathListSeparator) + os.Getenv("PATH")

	for _, c := range []struct {
		bin, kappaPython, want string
		args                   []string
	}{
		{bin, "", "venv", nil},
		{bin, envPython, "env", nil},
		{bin, envPython, "flag", []string{"--python", flagPython}},
		{kappaBin, "", "path", nil}, // no .venv beside a binary in a temp dir
	} {
		os.Remove(used)
		cmd := exec.Command(c.bin, append([]string{"compile", example("fib.py")}, c.args...)...)
		cmd.Env = append(os.Environ(), "KAPPA_PYTHON="+c.kappaPython, "PATH="+path)
		out, err := cmd.CombinedOutput()
		got, _ := os.ReadFile(used)
		if err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Errorf("%s with KAPPA_PYTHON=%q %v: ran %q, want %q (err %v)\n%s", c.bin, c.kappaPython, c.args, got, c.want, err, out)
		}
	}
}
