package main

import (
	"bytes"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// These tests install Kappa the way a newcomer does, so they are slow
// (a virtual environment, pip from its cache, a build sharing the Go cache).

// skipShortInstall: installing takes minutes, not the quick tier's seconds.
func skipShortInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: installs Kappa as a newcomer does (a venv, pip, a build)")
	}
}

// systemPython is the distribution's interpreter, the one a fresh Debian or
// Ubuntu machine has ("externally managed": pip refuses to install into it).
const systemPython = "/usr/bin/python3"

// The README's first command, verbatim, in a fresh clone of this
// repository's HEAD with only the system's directories and Go on PATH: the
// distribution's python3 is all it finds.
func TestReadmeFirstCommandInAFreshClone(t *testing.T) {
	skipShortInstall(t)
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("no %s on this machine: the test runs the README's first command with the distribution's python3", systemPython)
	}
	command := string(readmeSubmatch(t, "```sh\n(make install && [^\n]+)\n```", "`make install && …` command")[1])
	clone := cloneHead(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	env := newcomerEnv("PATH=/usr/bin:/bin:"+filepath.Dir(goBin), "GOCACHE="+goEnv(t, "GOCACHE"),
		"GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOTOOLCHAIN=local")

	start := time.Now()
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir, cmd.Env = clone, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", command, err, stdout.String(), stderr.String())
	}
	t.Logf("%s in a fresh clone: %v", command, time.Since(start).Round(time.Second))
	checkFactorialRun(t, stdout.String(), stderr.String())

	// The venv is the distribution's interpreter's, and bin/kappa used it.
	out, err := exec.Command(filepath.Join(clone, ".venv", "bin", "python"), "-c", "import sys; print(sys.base_prefix)").Output()
	if err != nil || strings.TrimSpace(string(out)) != "/usr" {
		t.Fatalf(".venv's base interpreter: %q (%v), want the system's (/usr)", out, err)
	}
}

// A program written for the original Kappa (`import rt`) runs on a kappa
// package installed, not edited in place, into a fresh virtual environment
// (no source checkout on its path), and its result is an int of 100,000
// digits.
func TestImportRtProgramOnAnInstalledPackage(t *testing.T) {
	skipShortInstall(t)
	dir := t.TempDir()
	// A copy of the package's sources: pip builds in place, and the
	// checkout stays clean.
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join("..", "..", "python")
	copyCmd := exec.Command("cp", "-r", filepath.Join(pkg, "pyproject.toml"), filepath.Join(pkg, "rt.py"), filepath.Join(pkg, "kappa"), src)
	if out, err := copyCmd.CombinedOutput(); err != nil {
		t.Fatalf("copying the package: %v\n%s", err, out)
	}
	venv := filepath.Join(dir, "venv")
	python := filepath.Join(venv, "bin", "python")
	for _, args := range [][]string{
		{"python3", "-m", "venv", venv},
		{python, "-m", "pip", "install", "-q", "--disable-pip-version-check", src},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	program := filepath.Join(dir, "digits.py")
	if err := os.WriteFile(program, []byte(rtProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(nodetest.KappaBinary(t), "run", program, "--python", python, "--quiet")
	run.Dir, run.Env = dir, newcomerEnv()
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("kappa run: %v\n%s", err, stderr.String())
	}
	want := new(big.Int).Exp(big.NewInt(7), big.NewInt(3*39443), nil).String()
	if got := strings.TrimSpace(stdout.String()); got != want || len(want) != 100_000 {
		t.Fatalf("result of %d digits (want %d): %.40s…\n%s", len(got), len(want), got, stderr.String())
	}
}

// make install on a Debian python3 without the venv module installs
// python3.X-venv with apt-get (as root, or through sudo), then makes the
// venv. Fakes stand in for apt-get and for the missing module.
func TestEnsureVenvInstallsTheVenvPackage(t *testing.T) {
	skipShortInstall(t)
	real, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	installed, log := filepath.Join(dir, "installed"), filepath.Join(dir, "apt-get.log")
	fakes := map[string]string{
		// python3 without ensurepip until apt-get ran.
		"python3": "if [ \"$2\" = 'import venv, ensurepip' ] && [ ! -f " + installed + " ]; then exit 1; fi\nexec " + real + " \"$@\"",
		"apt-get": "echo \"$@\" >> " + log + "\ntouch " + installed,
		"sudo":    "exec \"$@\"",
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, script := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	venv := filepath.Join(dir, "venv")
	cmd := exec.Command(filepath.Join("..", "..", "scripts", "ensure-venv.sh"), venv, "python3")
	cmd.Env = newcomerEnv("PATH=" + bin + ":/usr/bin:/bin")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ensure-venv.sh: %v\n%s", err, out)
	}
	version, err := exec.Command(real, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "install -y -qq python"+strings.TrimSpace(string(version))+"-venv") {
		t.Fatalf("apt-get calls %q\n%s", calls, out)
	}
	if err := exec.Command(filepath.Join(venv, "bin", "python"), "-m", "pip", "--version").Run(); err != nil {
		t.Fatalf("the venv has no working pip: %v\n%s", err, out)
	}
}

// rtProgram is in the style of the original Kappa's programs: rt.spawn,
// rt.checkpoint, futures' wait.
const rtProgram = `import rt


def power(base, exp):
    result = 1
    for i in range(exp):
        result *= base
        if i % 10000 == 0:
            rt.checkpoint()
    return result


def handler(event, _):
    parts = [rt.spawn(power, (7, 39443)) for _ in range(3)]
    rt.checkpoint()
    product = 1
    for part in parts:
        product *= part.wait()
    return product
`

// cloneHead clones the repository this test runs in and checks out its HEAD.
func cloneHead(t *testing.T) string {
	t.Helper()
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := exec.Command("git", "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("not a git checkout of Kappa (or no git): %v; the test clones the checkout's HEAD", err)
	}
	root := git(".", "rev-parse", "--show-toplevel")
	head := git(root, "rev-parse", "HEAD")
	clone := filepath.Join(t.TempDir(), "kappa")
	git(".", "clone", "-q", "--no-checkout", root, clone)
	git(clone, "checkout", "-q", head)
	return clone
}

// newcomerEnv is this process's environment without what points at a
// Python of ours (a venv, PYTHONPATH, KAPPA_PYTHON), plus extra.
func newcomerEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "VIRTUAL_ENV", strings.HasPrefix(name, "PYTHON"), strings.HasPrefix(name, "KAPPA_"), strings.HasPrefix(name, "PYENV"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
