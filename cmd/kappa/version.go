package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/node"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

func newVersionCmd() *cobra.Command {
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print this build's version and the versions it speaks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			v := node.BuildInfo(0)
			return o.print(protoJSON(v), func() error { printVersion(cmd.OutOrStdout(), v); return nil })
		},
	}
	o.register(cmd)
	return cmd
}

func printVersion(w io.Writer, v *wire.VersionInfo) {
	fmt.Fprintf(w, "kappa %s (commit %s)\n", v.GetVersion(), v.GetCommit())
	fmt.Fprintf(w, "command version:  %d\n", v.GetCommandVersion())
	fmt.Fprintf(w, "snapshot version: %d\n", v.GetSnapshotVersion())
	fmt.Fprintf(w, "wire version:     %d\n", v.GetWireVersion())
}

// buildVersion is one node's build in a table cell: "0.2.0 (cmd 2)". A
// node from before versions reports none: it applies command version 1.
func buildVersion(v *wire.VersionInfo) string {
	if v.GetVersion() == "" {
		return "before 0.2.0 (cmd 1)"
	}
	return fmt.Sprintf("%s (cmd %d)", v.GetVersion(), max(v.GetCommandVersion(), 1))
}

// versionLine is what `kappa --version` prints.
func versionLine() string {
	v := node.BuildInfo(0)
	return fmt.Sprintf("%s (commit %s, command version %d, snapshot version %d, wire version %d)",
		v.GetVersion(), v.GetCommit(), v.GetCommandVersion(), v.GetSnapshotVersion(), v.GetWireVersion())
}
