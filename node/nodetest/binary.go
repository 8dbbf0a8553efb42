package nodetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// KappaBinary is the kappa binary built from this source tree, once per
// test process. Tests that run it start real servers and workers, so they
// skip under -short.
func KappaBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: runs the kappa binary (real servers and workers)")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kappa-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "kappa")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/kappa")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building kappa: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// RemoveKappaBinary deletes the binary KappaBinary built, if any (for a
// TestMain, after the tests ran).
func RemoveKappaBinary() {
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
}
