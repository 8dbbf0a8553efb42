package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
)

// pythonPath is the interpreter that runs the compiler and the workers:
// --python, else $KAPPA_PYTHON, else python3.
func pythonPath(flag string) string {
	if flag != "" {
		return flag
	}
	if p := os.Getenv("KAPPA_PYTHON"); p != "" {
		return p
	}
	return "python3"
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
		return nil, usageError("the kappa Python package is not installed for %s: run `make install` (or `pip install -e python/`)", python)
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
