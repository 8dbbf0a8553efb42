package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var flagName = regexp.MustCompile(`^--[a-z][a-z-]*`)

// Every command of the README's "Running on AWS" section names a command
// and flags that exist, so what a user pastes is accepted.
func TestReadmeAWSCommandsUseRealFlags(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "## Running on AWS")
	if start < 0 {
		t.Fatal(`README has no "Running on AWS" section`)
	}
	section := text[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	commands := 0
	for _, block := range strings.Split(section, "```sh\n")[1:] {
		block = block[:strings.Index(block, "```")]
		for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
			line, _, _ = strings.Cut(line, "#")
			fields := strings.Fields(line)
			if len(fields) == 0 || fields[0] != "bin/kappa" {
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
				t.Errorf("kappa %s: %s", strings.Join(sub, " "), help.stderr)
				continue
			}
			for _, f := range fields[1:] {
				if name := flagName.FindString(f); name != "" && !strings.Contains(help.stdout, name+" ") {
					t.Errorf("kappa %s has no flag %s", strings.Join(sub, " "), name)
				}
			}
		}
	}
	if commands < 4 {
		t.Fatalf("found %d commands in the section", commands)
	}
}
