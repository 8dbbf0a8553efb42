// Command kappa runs Python programs on time-bounded lambdas, coordinated
// by a Raft cluster: `kappa run app.py` runs one on the embedded default.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
)

// exitError carries a process exit code with a one-line message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError is bad input: a one-line message and exit code 2.
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// newRootCmd is the whole command tree (the docs tests walk it too).
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "kappa",
		Short:         "Run ordinary Python programs of any length on time-bounded serverless functions",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(),
	}
	root.SetVersionTemplate("kappa {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(newRunCmd(), newCompileCmd(), newServerCmd(), newLambdaLocalCmd(), newDeployCmd(), newClusterCmd(), newStatusCmd(), newJobsCmd(), newTasksCmd(), newDevClusterCmd(), newBenchCmd(), newCertCmd(), newVersionCmd(), newTokenCmd(), newKeysCmd(), newDrillCmd(), newBackupCmd())
	return root
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "kappa: "+message(err))
		os.Exit(exitCode(err))
	}
}

// message is what the user reads: a gRPC error shows the server's own
// message, not the transport's wrapping.
func message(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Message()
	}
	return err.Error()
}
