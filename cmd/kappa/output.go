package main

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// outputFormats are what -o takes on every read command. json and yaml
// carry the same field names (docs/operations.md lists them), so scripts
// can rely on them; table is for people and may change.
var outputFormats = []string{"table", "json", "yaml"}

// outputFlag is -o/--output.
type outputFlag struct{ format string }

func (o *outputFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "table", "output format: "+strings.Join(outputFormats, ", "))
}

// check refuses an unknown format before anything is asked of the cluster.
func (o *outputFlag) check() error {
	for _, f := range outputFormats {
		if o.format == f {
			return nil
		}
	}
	return usageError("-o %q: want %s", o.format, strings.Join(outputFormats, ", "))
}

// print writes v as JSON or YAML, or calls table with a tab-aligned writer.
func (o *outputFlag) print(v any, table func(w io.Writer)) error {
	return o.write(os.Stdout, v, table)
}

func (o *outputFlag) write(out io.Writer, v any, table func(w io.Writer)) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Through JSON, so YAML has exactly the JSON field names.
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var plain any
		if err := json.Unmarshal(raw, &plain); err != nil {
			return err
		}
		b, err := yaml.Marshal(plain)
		if err != nil {
			return err
		}
		_, err = out.Write(b)
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}
