package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The settings table in docs/operations.md names real `kappa server`
// flags, and the defaults it prints are the flags' (which come from
// node.DefaultConfig): a default changed in one place shows here.
func TestOperationsSettingsTableMatchesServerFlags(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	flags := newServerCmd().Flags()
	row := regexp.MustCompile("^\\| (`[a-z-]+`(?:, `[a-z-]+`)*) \\| ([^|]+) \\|")
	var rows [][]string
	inSettings := false // the rows of tables whose header begins "| setting |"
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case !strings.HasPrefix(line, "|"):
			inSettings = false
		case strings.HasPrefix(line, "| setting |"):
			inSettings = true
		case inSettings:
			if m := row.FindStringSubmatch(line); m != nil {
				rows = append(rows, m)
			}
		}
	}
	if len(rows) < 8 {
		t.Fatalf("found %d rows of the settings table; did its layout change?", len(rows))
	}
	for _, r := range rows {
		names := strings.Split(strings.ReplaceAll(r[1], "`", ""), ", ")
		defaults := strings.Split(strings.TrimSpace(r[2]), ", ")
		if len(defaults) == 1 && len(names) > 1 {
			// One value for several settings ("`a`, `b` | 250ms"): each has it.
			for len(defaults) < len(names) {
				defaults = append(defaults, defaults[0])
			}
		}
		for i, name := range names {
			f := flags.Lookup(name)
			if f == nil {
				t.Errorf("docs/operations.md documents setting %q, which `kappa server` does not have", name)
				continue
			}
			if len(defaults) != len(names) || strings.Contains(defaults[i], " ") || defaults[i] == "off" {
				continue // a description ("every member", "off"), not a value
			}
			if defaults[i] == "none" && f.DefValue == "" {
				continue
			}
			if defaults[i] != f.DefValue {
				t.Errorf("docs/operations.md says %s defaults to %s; the flag's default is %s", name, defaults[i], f.DefValue)
			}
		}
	}
}
