package main

import (
	"os"

	"github.com/spf13/cobra"
)

func newCompileCmd() *cobra.Command {
	var python string
	var noAutoPauses bool
	cmd := &cobra.Command{
		Use:   "compile PROGRAM.py",
		Short: "Print the program as Kappa transforms it (continuations at every pause point)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			out, err := runPythonKappa(pythonPath(python), compileArgs("compile", args[0], noAutoPauses)...)
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&python, "python", "", pythonHelp)
	cmd.Flags().BoolVar(&noAutoPauses, "no-auto-pauses", false, noAutoPausesHelp)
	return cmd
}

const noAutoPausesHelp = "compile without automatic pause points: the program pauses only at checkpoint() and other Kappa calls"

// compileArgs are `python -m kappa` arguments for compiling a program file.
func compileArgs(command, program string, noAutoPauses bool) []string {
	if noAutoPauses {
		return []string{command, "--no-auto-pauses", program}
	}
	return []string{command, program}
}
