package jepsen

import (
	"os/exec"
	"strings"
	"testing"
)

// The workload programs, assembled from shared pieces, are valid Python.
func TestProgramsParse(t *testing.T) {
	for name, src := range map[string]string{"pipeline": pipeline, "short": short} {
		cmd := exec.Command("python3", "-c", "import sys; compile(sys.stdin.read(), 'prog.py', 'exec')")
		cmd.Stdin = strings.NewReader(src)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}
