package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/kappa-serverless/kappa/checkpoint"
)

// applyConfig fills every flag the command line did not set, from the
// environment (KAPPA_<FLAG>, dashes as underscores) or else from the YAML
// config file (keys are flag names). Precedence: flag > environment > file
// > default, so one file serves a fleet and a flag overrides it on one node.
func applyConfig(flags *pflag.FlagSet, file string) error {
	fromFile := map[string]any{}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(raw, &fromFile); err != nil {
			return fmt.Errorf("config file %s is not valid YAML: %w", file, err)
		}
		var unknown []string
		for k := range fromFile {
			if flags.Lookup(k) == nil {
				unknown = append(unknown, k)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("config file %s: unknown setting(s) %s (settings are the flag names, e.g. data-dir)", file, strings.Join(unknown, ", "))
		}
		for k, v := range fromFile {
			if holdsSecret(k, fmt.Sprint(v)) {
				if err := checkpoint.CheckSecretFileMode(file, "config file"); err != nil {
					return fmt.Errorf("%w (setting %s holds a password)", err, k)
				}
			}
		}
	}
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" {
			return
		}
		env := "KAPPA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", env, printable(f.Name, v), e)
			}
			return
		}
		if v, ok := fromFile[f.Name]; ok {
			if e := f.Value.Set(fmt.Sprint(v)); e != nil {
				err = fmt.Errorf("config file %s: %s: %q: %w", file, f.Name, printable(f.Name, fmt.Sprint(v)), e)
			}
		}
	})
	return err
}

// printable is a setting's value as an error may show it: a store URL's
// password redacted.
func printable(name, value string) string {
	if holdsSecret(name, value) {
		return checkpoint.RedactURL(value)
	}
	return value
}
