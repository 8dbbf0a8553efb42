package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// The docs are part of the product: every `kappa` command line and every
// flag that README.md and docs/*.md show must exist, and every shell block
// marked runnable (```sh runnable) must run.

// otherToolFlags are flags the docs show for programs other than kappa
// (make, python3 -m http.server, curl, the example services, go tool …).
// A flag is looked up here only when no kappa command has it.
var otherToolFlags = map[string]bool{
	"--bind": true, "--directory": true, "--port": true, "--cpus": true, "--repeat": true,
	"--break-system-packages": true, "--user": true, "--target": true, "--only-binary": true,
	"--duration": true, "--tasks": true, "--trials": true, "--top": true, "--cum": true,
	"--only": true, "--protected-mode": true,
}

// testDocs may name the hidden test-only flags (they document the test
// suite, not the product).
var testDocs = map[string]bool{"reliability.md": true}

// docFiles are the user-facing documents.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join("..", "..", "README.md")}, files...)
}

// docBlock is a fenced code block of a document.
type docBlock struct {
	file, info string
	line       int // where its text starts
	text       string
}

var fence = regexp.MustCompile("(?m)^```([^\\n]*)\\n")

func docBlocks(t *testing.T, file string) (blocks []docBlock, prose string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var rest strings.Builder
	for {
		loc := fence.FindStringSubmatchIndex(text)
		if loc == nil {
			rest.WriteString(text)
			break
		}
		rest.WriteString(text[:loc[0]])
		info := text[loc[2]:loc[3]]
		body := text[loc[1]:]
		end := strings.Index(body, "\n```")
		if end < 0 {
			t.Fatalf("%s: a code block is not closed", file)
		}
		line := strings.Count(string(b[:len(b)-len(body)]), "\n") + 1
		blocks = append(blocks, docBlock{file: file, info: info, line: line, text: body[:end+1]})
		text = body[end+4:]
	}
	return blocks, rest.String()
}

// kappaLines are the kappa command lines of a shell block, continuation
// lines joined, comments and env assignments dropped, with their line.
func kappaLines(b docBlock) (lines []string, at []int) {
	text := strings.ReplaceAll(b.text, "\\\n", " \n")
	n := b.line
	for _, raw := range strings.Split(text, "\n") {
		line := raw
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		for _, part := range strings.Split(line, "&&") {
			fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
			for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
				fields = fields[1:]
			}
			if len(fields) > 0 && (fields[0] == "kappa" || fields[0] == "bin/kappa") {
				lines = append(lines, strings.Join(fields[1:], " "))
				at = append(at, n)
			}
		}
		n += strings.Count(raw, "\n") + 1
	}
	return lines, at
}

// resolve walks a command line's words down the command tree and returns
// the command it names and the flags it uses.
func resolve(root *cobra.Command, args string) (*cobra.Command, []string, error) {
	cmd := root
	var flags []string
	descend := true
	for _, w := range strings.Fields(args) {
		if strings.HasPrefix(w, "--") {
			name, _, _ := strings.Cut(w, "=")
			flags = append(flags, strings.Trim(name, "'\"`,;)"))
			descend = false
			continue
		}
		if !descend || strings.HasPrefix(w, "-") {
			continue
		}
		next := (*cobra.Command)(nil)
		for _, c := range cmd.Commands() {
			if c.Name() == w || c.HasAlias(w) {
				next = c
			}
		}
		if next == nil {
			if cmd.HasSubCommands() && !cmd.Runnable() {
				return nil, nil, fmt.Errorf("`kappa %s` has no subcommand %q", cmd.CommandPath(), w)
			}
			descend = false
			continue
		}
		cmd = next
	}
	return cmd, flags, nil
}

func hasFlag(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(strings.TrimPrefix(name, "--"))
	if f == nil {
		f = cmd.InheritedFlags().Lookup(strings.TrimPrefix(name, "--"))
	}
	return f != nil && !f.Hidden || name == "--help" || name == "--version"
}

// allKappaFlags is every flag of every kappa command: true when visible,
// false when hidden (test-only).
func allKappaFlags(root *cobra.Command) map[string]bool {
	out := map[string]bool{"--help": true, "--version": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			out["--"+f.Name] = out["--"+f.Name] || !f.Hidden
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

var inlineCode = regexp.MustCompile("`([^`\\n]+)`")
var longFlag = regexp.MustCompile(`(?:^|[\s(\[])(--[a-z][a-z0-9-]*)`)

func TestDocumentedCommandsAndFlagsExist(t *testing.T) {
	root := newRootCmd()
	all := allKappaFlags(root)
	checked := 0
	for _, file := range docFiles(t) {
		name := filepath.Base(file)
		blocks, prose := docBlocks(t, file)
		check := func(where, args string) {
			checked++
			cmd, flags, err := resolve(root, args)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				return
			}
			for _, f := range flags {
				if !hasFlag(cmd, f) {
					t.Errorf("%s: `kappa %s` has no flag %s", where, strings.TrimPrefix(cmd.CommandPath(), "kappa "), f)
				}
			}
		}
		for _, b := range blocks {
			if b.info != "sh" && !strings.HasPrefix(b.info, "sh ") && b.info != "" {
				continue
			}
			lines, at := kappaLines(b)
			for i, l := range lines {
				check(fmt.Sprintf("%s:%d", name, at[i]), l)
			}
		}
		for _, m := range inlineCode.FindAllStringSubmatch(prose, -1) {
			span := m[1]
			fields := strings.Fields(span)
			if len(fields) > 1 && (fields[0] == "kappa" || fields[0] == "bin/kappa") {
				check(name+": `"+span+"`", strings.Join(fields[1:], " "))
				continue
			}
			for _, f := range longFlag.FindAllStringSubmatch(span, -1) {
				checked++
				visible, exists := all[f[1]]
				if !(visible || exists && testDocs[name] || otherToolFlags[f[1]]) {
					t.Errorf("%s: `%s` names %s, which no kappa command has", name, span, f[1])
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d commands and flags in the docs; did their layout change?", checked)
	}
}

// The checker itself fails on a command or flag that does not exist.
func TestDocsCheckerCatchesAMissingFlagOrCommand(t *testing.T) {
	root := newRootCmd()
	if _, _, err := resolve(root, "cluster frobnicate --to n2"); err == nil {
		t.Error("a missing subcommand passed")
	}
	cmd, flags, err := resolve(root, "run examples/fib.py --event '{}' --no-such-flag")
	if err != nil || cmd.Name() != "run" {
		t.Fatalf("resolve: %v %v", cmd, err)
	}
	if hasFlag(cmd, flags[1]) {
		t.Error("a missing flag passed")
	}
	if !hasFlag(cmd, flags[0]) {
		t.Error("--event of run was not found")
	}
	if hasFlag(newRootCmd().Commands()[0], "--unsafe-test-fault") {
		t.Error("a hidden test flag counts as documented")
	}
}

// Shell blocks marked ```sh runnable run as written, from the repository
// root with bin/kappa built, each in its own process group (killed at the
// end, so a `… &` in the block does not outlive it).
func TestRunnableDocBlocksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the documented commands (kappa jobs and clusters)")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(nodetest.KappaBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "bin", "kappa"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	var runnable []docBlock
	for _, file := range docFiles(t) {
		blocks, _ := docBlocks(t, file)
		for _, b := range blocks {
			if b.info == "sh runnable" {
				runnable = append(runnable, b)
			}
		}
	}
	if len(runnable) < 2 {
		t.Fatalf("found %d runnable blocks; the README marks its examples ```sh runnable", len(runnable))
	}
	sort.SliceStable(runnable, func(i, j int) bool { return runnable[i].file < runnable[j].file })
	for _, b := range runnable {
		t.Run(fmt.Sprintf("%s:%d", filepath.Base(b.file), b.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			// Output to a file, not a pipe: a server the block starts in
			// the background keeps a pipe open after the block ends.
			log := filepath.Join(t.TempDir(), "out")
			f, err := os.Create(log)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", b.text)
			cmd.Dir, cmd.Stdout, cmd.Stderr = repo, f, f
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			err = cmd.Run()
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			out, _ := os.ReadFile(log)
			if err != nil {
				t.Fatalf("the block failed: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}
