package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
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

// print writes v as JSON or YAML to stdout, or calls table.
func (o *outputFlag) print(v any, table func() error) error {
	if o.format == "table" || o.format == "" {
		return table()
	}
	return o.write(os.Stdout, v)
}

// tabular runs rows with a tab-aligned writer on stdout.
func tabular(rows func(w io.Writer)) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	rows(w)
	return w.Flush()
}

func (o *outputFlag) write(out io.Writer, v any) error {
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
	return fmt.Errorf("output format %q", o.format)
}

// protoJSON is an API message as scripts read it: proto3 JSON with the
// field names of transport/proto/kappa/v1 and every field present (64-bit
// integers are strings, enums their names), so the names stay stable as
// the API evolves by its compatibility rules.
func protoJSON(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		panic(err) // a valid message always marshals
	}
	return b
}

// protoList is protoJSON of each message.
func protoList[M proto.Message](ms []M) []json.RawMessage {
	out := make([]json.RawMessage, len(ms))
	for i, m := range ms {
		out[i] = protoJSON(m)
	}
	return out
}
