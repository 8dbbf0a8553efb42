package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Target runtime of the zip: wheels are chosen for it, not for this machine.
const (
	Runtime    = "python3.11"
	pyVersion  = "3.11"
	pyPlatform = "manylinux2014_x86_64"
	// Handler is what Lambda's runtime calls: the same handler(event,
	// context) the local platform runs.
	Handler = "kappa.worker.handler.handler"
)

// ZipOptions say what goes into the function's zip.
type ZipOptions struct {
	// Python finds the kappa package (the one it imports, so PYTHONPATH
	// counts) and runs pip; default python3.
	Python string
	// Requirements is a requirements.txt installed into the zip as well
	// (optional): libraries every program may import without installing
	// them on the worker.
	Requirements string
	// PipArgs are added to pip's command line (e.g. --index-url URL, or
	// --no-index --find-links DIR where PyPI is out of reach).
	PipArgs []string
	// Log receives one line per step (optional).
	Log func(string)
}

// zipEpoch is every entry's modification time, so the same inputs give
// the same bytes (and Lambda's CodeSha256 only changes with the code).
var zipEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// packageInfo is what the Python side says about the kappa package.
type packageInfo struct {
	Dir     string   `json:"dir"`     // the kappa package directory
	Deps    []string `json:"deps"`    // its requirements (pyproject or metadata)
	Modules []string `json:"modules"` // top-level modules shipped beside it (rt.py)
}

// locate asks Python where kappa is and what it depends on: the
// pyproject.toml beside a source checkout wins over installed metadata.
const locateScript = `
import json, os, sys, importlib.metadata as md
import kappa
d = os.path.dirname(os.path.abspath(kappa.__file__))
deps = None
pp = os.path.join(os.path.dirname(d), "pyproject.toml")
if os.path.exists(pp):
    import tomllib
    with open(pp, "rb") as f:
        deps = tomllib.load(f).get("project", {}).get("dependencies")
if deps is None:
    deps = [r for r in (md.requires("kappa") or []) if "extra ==" not in r]
rt = os.path.join(os.path.dirname(d), "rt.py")
json.dump({"dir": d, "deps": deps, "modules": [rt] if os.path.exists(rt) else []}, sys.stdout)
`

// BuildZip builds the worker function's zip: the kappa package and its
// dependencies (binary wheels for the Lambda runtime), plus opts.Requirements.
func BuildZip(ctx context.Context, opts ZipOptions) ([]byte, error) {
	if opts.Python == "" {
		opts.Python = "python3"
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			opts.Log(fmt.Sprintf(format, args...))
		}
	}
	if opts.Requirements != "" {
		if _, err := os.Stat(opts.Requirements); err != nil {
			return nil, fmt.Errorf("--requirements %s: %w", opts.Requirements, err)
		}
	}
	out, err := exec.CommandContext(ctx, opts.Python, "-c", locateScript).Output()
	if err != nil {
		return nil, fmt.Errorf("cannot find the kappa package with %s: %v%s (run `make install` in the kappa checkout, or pass --python)", opts.Python, err, stderrOf(err))
	}
	var info packageInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("locating the kappa package: %w", err)
	}
	staging, err := os.MkdirTemp("", "kappa-deploy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(staging)

	args := []string{"-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "--no-compile",
		"--target", staging, "--platform", pyPlatform, "--only-binary=:all:", "--python-version", pyVersion, "--implementation", "cp"}
	args = append(args, opts.PipArgs...)
	args = append(args, info.Deps...)
	if opts.Requirements != "" {
		args = append(args, "-r", opts.Requirements)
	}
	logf("installing %s%s for %s (%s)", strings.Join(info.Deps, " "), withRequirements(opts.Requirements), Runtime, pyPlatform)
	pip := exec.CommandContext(ctx, opts.Python, args...)
	var pipErr bytes.Buffer
	pip.Stderr = &pipErr
	if err := pip.Run(); err != nil {
		return nil, fmt.Errorf("pip could not install the function's dependencies for %s: %s", Runtime, pipMessage(pipErr.String(), err))
	}
	if err := copyTree(info.Dir, filepath.Join(staging, "kappa")); err != nil {
		return nil, fmt.Errorf("copying the kappa package: %w", err)
	}
	for _, m := range info.Modules {
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", m, err)
		}
		if err := os.WriteFile(filepath.Join(staging, filepath.Base(m)), b, 0o644); err != nil {
			return nil, err
		}
	}
	logf("kappa package from %s", info.Dir)
	return zipTree(staging)
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + lastLine(string(ee.Stderr))
	}
	return ""
}

// pipMessage is pip's own ERROR line, which names the package at fault.
func pipMessage(stderr string, err error) string {
	var last string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "ERROR:") {
			last = strings.TrimSpace(l)
		}
	}
	if last == "" {
		last = lastLine(stderr)
	}
	if last == "" {
		return err.Error()
	}
	return last
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// skipped leaves caches and bytecode out of the zip: Lambda compiles what
// it imports, and bytecode would make the zip depend on this machine.
func skipped(name string, dir bool) bool {
	if dir {
		return name == "__pycache__" || strings.HasPrefix(name, ".")
	}
	return strings.HasSuffix(name, ".pyc")
}

// walkKept walks root, leaving out what skipped names, and calls visit for
// every kept directory and file (root included).
func walkKept(root string, visit func(path string, d fs.DirEntry) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && skipped(d.Name(), d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return visit(path, d)
	})
}

func copyTree(src, dst string) error {
	return walkKept(src, func(path string, d fs.DirEntry) error {
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// zipTree zips a directory deterministically: sorted paths, fixed times,
// modes Lambda's runtime can read (0644, 0755 for executables).
func zipTree(root string) ([]byte, error) {
	var paths []string
	err := walkKept(root, func(path string, d fs.DirEntry) error {
		if d.Type().IsRegular() {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		h := &zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func withRequirements(file string) string {
	if file == "" {
		return ""
	}
	return " and -r " + file
}
