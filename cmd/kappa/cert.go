package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// certFlags are shared by the `kappa cert` commands.
type certFlags struct {
	dir      string
	out      string
	validFor time.Duration
}

func (f *certFlags) register(cmd *cobra.Command, issues bool) {
	cmd.Flags().StringVar(&f.dir, "dir", "kappa-certs", "the CA's directory (ca.crt and ca.key)")
	cmd.Flags().DurationVar(&f.validFor, "valid-for", 0, "validity (default: 10 years for a CA, 1 year for others)")
	if issues {
		cmd.Flags().StringVar(&f.out, "out", "", "the certs dir to write (default DIR/NAME)")
	}
}

func newCertCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Make the cluster's CA and the certificates of nodes, clients and lambda-local",
		Long: `Makes certificates with the cluster's own CA (ECDSA P-256). create-ca writes
ca.crt and ca.key into --dir; the other commands sign with that CA and write a
certs dir ready to copy where it is used: ca.crt plus node.crt/node.key (a
node: kappa server --certs-dir), client.crt/client.key (a person or program:
KAPPA_CERTS_DIR) or lambda.crt/lambda.key (kappa lambda-local --certs-dir).
Keys are written readable by their owner only; nothing is ever overwritten.`,
	}
	cmd.AddCommand(newCreateCACmd(), newCreateNodeCmd(), newCreateClientCmd(), newCreateLambdaCmd())
	return cmd
}

func newCreateCACmd() *cobra.Command {
	var f certFlags
	cmd := &cobra.Command{
		Use:   "create-ca [--dir DIR]",
		Short: "Make a new cluster CA (ca.crt, ca.key) in --dir",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if _, err := tlsconf.CreateCA(f.dir, f.validFor); err != nil {
				return usageError("%v", err)
			}
			fmt.Printf("made a CA in %s: keep %s secret, copy %s anywhere\n", f.dir, filepath.Join(f.dir, tlsconf.CAKeyFile), tlsconf.CAFile)
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

func newCreateNodeCmd() *cobra.Command {
	var f certFlags
	var hosts string
	cmd := &cobra.Command{
		Use:   "create-node NODE_ID --hosts HOST[,HOST…] [--dir DIR]",
		Short: "Issue a node's certificate (server and client; names the node id and its hosts)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return f.issue(args[0], func(ca *tlsconf.CA, out string) error {
				return ca.IssueNode(out, args[0], splitList(hosts), f.validFor)
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&hosts, "hosts", "", "host names and IP addresses the node's API and Raft ports are reached at (required)")
	return cmd
}

func newCreateClientCmd() *cobra.Command {
	var f certFlags
	var role string
	roles := make([]string, len(tlsconf.ClientRoles))
	for i, r := range tlsconf.ClientRoles {
		roles[i] = string(r)
	}
	cmd := &cobra.Command{
		Use:   "create-client NAME --role " + strings.Join(roles, "|") + " [--dir DIR]",
		Short: "Issue a client's certificate, naming its role",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if role == "" {
				return usageError("--role is required: one of %s", strings.Join(roles, ", "))
			}
			return f.issue(args[0], func(ca *tlsconf.CA, out string) error {
				return ca.IssueClient(out, args[0], tlsconf.Role(role), f.validFor)
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&role, "role", "", "what the client may do: "+strings.Join(roles, ", ")+" (docs/security.md)")
	return cmd
}

func newCreateLambdaCmd() *cobra.Command {
	var f certFlags
	var hosts string
	cmd := &cobra.Command{
		Use:   "create-lambda --hosts HOST[,HOST…] [--dir DIR]",
		Short: "Issue kappa lambda-local's server certificate (it grants nothing on the cluster)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return f.issue("lambda-local", func(ca *tlsconf.CA, out string) error {
				return ca.IssueLambda(out, splitList(hosts), f.validFor)
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&hosts, "hosts", "", "host names and IP addresses coordinators reach lambda-local at (required)")
	return cmd
}

// issue loads the CA of --dir and writes name's certs dir (--out, default
// DIR/NAME).
func (f *certFlags) issue(name string, write func(ca *tlsconf.CA, out string) error) error {
	ca, err := tlsconf.LoadCA(f.dir)
	if err != nil {
		return usageError("%v", err)
	}
	out := f.out
	if out == "" {
		out = filepath.Join(f.dir, name)
	}
	if err := write(ca, out); err != nil {
		return usageError("%v", err)
	}
	fmt.Printf("wrote %s\n", out)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
