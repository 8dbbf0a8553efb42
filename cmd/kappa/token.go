package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make bearer tokens for clients of a cluster"}
	cmd.AddCommand(newTokenCreateCmd())
	return cmd
}

func newTokenCreateCmd() *cobra.Command {
	var role, appendTo string
	cmd := &cobra.Command{
		Use:   "create NAME --role admin|operator|submitter|reader",
		Short: "Print a fresh token for NAME, and the line that admits it in a node's --token-file",
		Long: `Draws a fresh bearer token and prints it (stdout, first line) and the
line a node's --token-file needs to admit it (second line): the token's
sha256, the role and the name. Nodes keep only the hash, so the token is
shown this once: give it to NAME (as KAPPA_TOKEN or in a --token-file of
the client). With --append FILE the line is appended to FILE (created with
mode 0600) and only the token is printed. Nodes re-read their token file
when it changes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r, err := node.ParseClientRole(role)
			if err != nil {
				return usageError("--role: %v", err)
			}
			token, line, err := node.NewToken(args[0], r)
			if err != nil {
				return usageError("%v", err)
			}
			if appendTo == "" {
				fmt.Println(token)
				fmt.Println(line)
				return nil
			}
			f, err := os.OpenFile(appendTo, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("--append: %w", err)
			}
			if _, err := fmt.Fprintln(f, line); err != nil {
				f.Close()
				return fmt.Errorf("--append %s: %w", appendTo, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("--append %s: %w", appendTo, err)
			}
			fmt.Println(token)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "what the token may do: admin, operator, submitter or reader (docs/security.md)")
	cmd.Flags().StringVar(&appendTo, "append", "", "append the token's line to this token file instead of printing it")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// tokenFlags are the bearer token a command presents (connFlags).
type tokenFlags struct {
	token     string
	tokenFile string
}

func (f *tokenFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.token, "token", "", "bearer token to present (default $KAPPA_TOKEN; on a command line it shows in ps: prefer the variable or --token-file)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token to present (mode 0600)")
}

// dialOptions turn the flags into what the client presents.
func (f *tokenFlags) dialOptions() ([]grpc.DialOption, error) {
	token := f.token
	if f.tokenFile != "" {
		if token != "" {
			return nil, usageError("--token and --token-file exclude each other")
		}
		info, err := os.Stat(f.tokenFile)
		if err != nil {
			return nil, usageError("--token-file: %v", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			return nil, usageError("--token-file %s is readable by others (mode %04o): chmod 600 %s", f.tokenFile, info.Mode().Perm(), f.tokenFile)
		}
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, usageError("--token-file: %v", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, usageError("--token-file %s is empty", f.tokenFile)
		}
	}
	if token == "" {
		token = os.Getenv("KAPPA_TOKEN")
	}
	if token == "" {
		return nil, nil
	}
	return []grpc.DialOption{kappaclient.Token(token)}, nil
}
