package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/nodetest"
)

func deployFile(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "deploy"}, parts...)...)
}

// unitSettings reads a systemd unit's key=value lines (a key given twice
// keeps every value).
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = append(out[k], v)
		}
	}
	return out
}

// The systemd unit passes `systemd-analyze verify` and its offline
// security review, has the hardening and stop settings the docs promise,
// stops later than the drain's bound, does not restart the "binary older
// than the log" exit, and its command line and config file are valid
// `kappa server` settings.
func TestSystemdUnit(t *testing.T) {
	unit := deployFile("systemd", "kappa.service")
	s := unitSettings(t, unit)
	want := map[string]string{
		"ProtectSystem": "strict", "NoNewPrivileges": "yes", "ProtectHome": "yes", "PrivateTmp": "yes",
		"ReadWritePaths": "/var/lib/kappa", "StateDirectory": "kappa", "KillSignal": "SIGTERM", "KillMode": "mixed",
		"Restart": "on-failure", "RestartPreventExitStatus": fmt.Sprint(exitTooOld), "User": "kappa",
	}
	for k, v := range want {
		if !slices.Contains(s[k], v) {
			t.Errorf("%s: %s=%v, want %s", unit, k, s[k], v)
		}
	}
	stop, err := time.ParseDuration(s["TimeoutStopSec"][0])
	if err != nil {
		t.Fatalf("TimeoutStopSec %v: %v", s["TimeoutStopSec"], err)
	}

	// The command line and the config file it names are valid settings,
	// and the planned stop fits in the stop timeout.
	exec0 := strings.Fields(s["ExecStart"][0])
	if exec0[0] != "/usr/local/bin/kappa" || exec0[1] != "server" {
		t.Fatalf("ExecStart %q should run /usr/local/bin/kappa server", s["ExecStart"][0])
	}
	cmd := newServerCmd()
	if err := cmd.ParseFlags(exec0[2:]); err != nil {
		t.Fatalf("ExecStart's flags: %v", err)
	}
	if got := cmd.Flags().Lookup("config").Value.String(); got != "/etc/kappa/kappa.yaml" {
		t.Fatalf("ExecStart's --config is %s", got)
	}
	cmd = newServerCmd()
	if err := applyConfig(cmd.Flags(), deployFile("systemd", "kappa.yaml")); err != nil {
		t.Fatalf("the example config: %v", err)
	}
	drain, _ := time.ParseDuration(cmd.Flags().Lookup("shutdown-timeout").Value.String())
	if drain <= 0 || stop < drain+10*time.Second || stop < node.DefaultConfig().ShutdownTimeout+10*time.Second {
		t.Errorf("TimeoutStopSec %s must leave room above the config's --shutdown-timeout %s and the default %s", stop, drain, node.DefaultConfig().ShutdownTimeout)
	}
	if cmd.Flags().Lookup("certs-dir").Value.String() == "" {
		t.Error("the example config has no certs-dir: a server without one (or --insecure) refuses to start")
	}
	if cmd.Flags().Lookup("cluster-key-file").Value.String() == "" {
		t.Error("the example config has no cluster-key-file: a server without one refuses to start")
	}
	if got := cmd.Flags().Lookup("data-dir").Value.String(); got != s["ReadWritePaths"][0] {
		t.Errorf("the example config's data-dir %s is not the unit's writable path %s", got, s["ReadWritePaths"][0])
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed here (make test installs it from Debian packages: scripts/ensure-systemd.sh)")
	}
	// verify checks that ExecStart's binary exists: point it at this build.
	dir := t.TempDir()
	text, _ := os.ReadFile(unit)
	text = bytes.ReplaceAll(text, []byte("/usr/local/bin/kappa"), []byte(nodetest.KappaBinary(t)))
	copyPath := filepath.Join(dir, "kappa.service")
	if err := os.WriteFile(copyPath, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		// verify exits 0 on unknown keys and bad values: any line is a finding.
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=40", copyPath).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for kappa.service: (\S+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security (exposure must stay ≤ 4.0): %v\n%s", err, out)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])
}

// instruction is one Containerfile instruction.
type instruction struct {
	line int
	op   string
	args string
}

func containerfile(t *testing.T) []instruction {
	t.Helper()
	raw, err := os.ReadFile(deployFile("container", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur *instruction
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == nil && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur == nil {
			op, args, _ := strings.Cut(trimmed, " ")
			cur = &instruction{line: i + 1, op: strings.ToUpper(op)}
			trimmed = args
		}
		cur.args = strings.TrimSpace(cur.args + " " + strings.TrimSuffix(trimmed, "\\"))
		if !strings.HasSuffix(trimmed, "\\") {
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// The Containerfile is checked as far as this machine allows (it has no
// container engine): stages and their references, what the build copies
// from the repository exists, the image runs kappa as an unprivileged user
// with SIGTERM as its stop signal; then its build steps (build.sh) run
// into a temporary root laid out like the image, and a job runs from
// there with nothing but that root's binary and Python runtime.
func TestContainerfile(t *testing.T) {
	ins := containerfile(t)
	stages, final := map[string]bool{}, -1
	root := filepath.Join("..", "..")
	var steps [][]string
	for i, in := range ins {
		where := fmt.Sprintf("Containerfile:%d", in.line)
		f := strings.Fields(in.args)
		switch in.op {
		case "FROM":
			final = i
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			}
		case "COPY":
			if from, ok := strings.CutPrefix(f[0], "--from="); ok {
				if !stages[from] {
					t.Errorf("%s: copies from stage %q, which no earlier FROM names", where, from)
				}
				continue
			}
			for _, src := range f[:len(f)-1] {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s: copies %s, which the repository lacks", where, src)
				}
			}
		case "RUN":
			if j := slices.IndexFunc(f, func(s string) bool { return strings.HasSuffix(s, "deploy/container/build.sh") }); j >= 0 {
				steps = append(steps, f[j+1:])
			}
		}
	}
	if len(stages) < 2 || final < 0 {
		t.Fatalf("want a multi-stage build (named build stages, then the image); stages %v", stages)
	}
	image := map[string]string{}
	for _, in := range ins[final:] {
		image[in.op] = in.args
	}
	if u := image["USER"]; u == "" || u == "root" || u == "0" {
		t.Errorf("the image must run as an unprivileged user, USER is %q", u)
	}
	if image["STOPSIGNAL"] != "SIGTERM" || !strings.Contains(image["ENTRYPOINT"], "/usr/local/bin/kappa") {
		t.Errorf("want STOPSIGNAL SIGTERM and ENTRYPOINT kappa, got %q and %q", image["STOPSIGNAL"], image["ENTRYPOINT"])
	}
	cmd := newServerCmd()
	if err := applyConfig(cmd.Flags(), deployFile("container", "kappa.yaml")); err != nil {
		t.Fatalf("the image's config: %v", err)
	}
	if cmd.Flags().Lookup("certs-dir").Value.String() == "" {
		t.Error("the image's config has no certs-dir: a server without one (or --insecure) refuses to start")
	}
	if cmd.Flags().Lookup("cluster-key-file").Value.String() == "" {
		t.Error("the image's config has no cluster-key-file: a server without one refuses to start")
	}
	if len(steps) != 2 || steps[0][0] != "go" || steps[1][0] != "python" {
		t.Fatalf("want the go and python steps of build.sh, got %v", steps)
	}

	// The build steps, into a root that mimics the image.
	nodetest.KappaBinary(t) // skips under -short: this builds and runs things
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	img := t.TempDir()
	for _, step := range steps {
		run := exec.Command(filepath.Join(abs, "deploy", "container", "build.sh"), step[0], abs, img)
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("build.sh %s: %v\n%s", step[0], err, out)
		}
	}
	kappaBin := filepath.Join(img, "usr", "local", "bin", "kappa")
	run := exec.Command(kappaBin, "run", filepath.Join(abs, "examples", "fib.py"), "--event", `{"n": 6}`)
	// Only the image's runtime on PATH (not the test's own venv).
	run.Env = append(os.Environ(), "PATH="+filepath.Join(img, "opt", "kappa", "venv", "bin")+":/usr/bin:/bin")
	run.Dir = t.TempDir()
	out, err := run.Output()
	if err != nil || strings.TrimSpace(string(out)) != "8" {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("a job on the image's layout: %v, stdout %q\n%s", err, out, stderr)
	}
}
