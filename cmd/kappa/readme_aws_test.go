package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var flagName = regexp.MustCompile(`^--[a-z][a-z-]*`)

// Every command of the README's "Running on AWS" section names a command
// and flags that exist, so what a user pastes is accepted.
func TestReadmeAWSCommandsUseRealFlags(t *testing.T) {
	text := readDoc(t, "README.md")
	start := strings.Index(text, "## Running on AWS")
	if start < 0 {
		t.Fatal(`README has no "Running on AWS" section`)
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	if n := checkDocCommands(t, "README.md", section); n < 4 {
		t.Fatalf("found %d commands in the section", n)
	}
}

// Every command of docs/operations.md (the runbook: backup and restore,
// lost quorum, one store per cluster, cleanup, ...) exists with the flags
// it is written with.
func TestOperationsCommandsUseRealFlags(t *testing.T) {
	if n := checkDocCommands(t, "docs/operations.md", readDoc(t, "docs/operations.md")); n < 20 {
		t.Fatalf("found %d commands in docs/operations.md", n)
	}
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkDocCommands runs `kappa SUBCOMMAND --help` for every kappa command
// line of text's sh blocks and checks each flag it uses is in the help. It
// returns how many command lines it checked.
func checkDocCommands(t *testing.T, doc, text string) int {
	t.Helper()
	commands := 0
	for _, block := range strings.Split(text, "```sh\n")[1:] {
		block = block[:strings.Index(block, "```")]
		for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
			line, _, _ = strings.Cut(line, "#")
			fields := strings.Fields(line)
			if len(fields) == 0 || (fields[0] != "bin/kappa" && fields[0] != "kappa") {
				continue
			}
			commands++
			var sub []string
			for _, f := range fields[1:] {
				if strings.HasPrefix(f, "-") {
					break
				}
				sub = append(sub, f)
			}
			help := kappa(t, append(sub, "--help")...)
			if help.code != 0 {
				t.Errorf("%s: kappa %s: %s", doc, strings.Join(sub, " "), help.stderr)
				continue
			}
			for _, f := range fields[1:] {
				if name := flagName.FindString(f); name != "" && !strings.Contains(help.stdout, name+" ") {
					t.Errorf("%s: kappa %s has no flag %s", doc, strings.Join(sub, " "), name)
				}
			}
		}
	}
	return commands
}
