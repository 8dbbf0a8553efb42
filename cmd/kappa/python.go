package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// pythonHelp is the --python flag's help, the same for every command.
const pythonHelp = "Python interpreter with the kappa package (default $KAPPA_PYTHON, else the checkout's .venv/bin/python that make install made, else python3)"

// pythonPath is the interpreter that runs the compiler and the workers:
// --python, else $KAPPA_PYTHON, else the project venv `make install`
// made (.venv beside the directory of this executable), else python3.
func pythonPath(flag string) string {
	if flag != "" {
		return flag
	}
	if p := os.Getenv("KAPPA_PYTHON"); p != "" {
		return p
	}
	if p := projectVenvPython(); p != "" {
		return p
	}
	return "python3"
}

// projectVenvPython is <dir of the kappa executable>/../.venv/bin/python
// when it exists: bin/kappa of a checkout finds the interpreter `make
// install` set up, whatever python3 is first on PATH.
func projectVenvPython() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	p := filepath.Join(filepath.Dir(filepath.Dir(exe)), ".venv", "bin", "python")
	if info, err := os.Stat(p); err != nil || info.IsDir() {
		return ""
	}
	return p
}

// checkWorkerPython makes sure, once at start, that python can import
// what a local worker imports, so a missing package or a bad --python is
// one line naming the interpreter and the fix instead of jobs whose
// lambdas never start.
func checkWorkerPython(python string) error {
	const script = "import kappa.worker.local, kappa.worker.handler"
	cmd := exec.Command(python, "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return usageError("cannot run the worker interpreter %s: %v: install Python 3.11+ and run `make install`, or pass --python (or set KAPPA_PYTHON) to an interpreter with the kappa package", python, err)
	}
	return usageError("the worker interpreter %s cannot import the kappa package (%s): run `make install`, or pass --python (or set KAPPA_PYTHON) to an interpreter that has it", python, lastLine(stderr.String()))
}

// runPythonKappa runs `python -m kappa ARGS...` and returns its stdout. A
// failure comes back as a one-line error: the tool's own message when it
// printed one (compile errors name file:line:col), or what to install.
func runPythonKappa(python string, args ...string) ([]byte, error) {
	return runPythonModule(python, "kappa", nil, args...)
}

// runPythonModule runs `python -m MODULE ARGS...` with stdin, as
// runPythonKappa does.
func runPythonModule(python, module string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(python, append([]string{"-m", module}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return nil, usageError("cannot run %s: %v (install Python 3.11+ or pass --python)", python, err)
	}
	msg := lastLine(stderr.String())
	if strings.Contains(stderr.String(), "No module named kappa") {
		return nil, usageError("the kappa Python package is not installed for %s: run `make install`, or pass --python (or set KAPPA_PYTHON) to an interpreter that has it", python)
	}
	if msg == "" {
		msg = "python -m " + module + " " + strings.Join(args, " ") + " failed: " + err.Error()
	}
	return nil, &exitError{code: 2, msg: msg}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
