package main

import (
	"os"

	"github.com/spf13/cobra"
)

func newCompileCmd() *cobra.Command {
	var python string
	cmd := &cobra.Command{
		Use:   "compile PROGRAM.py",
		Short: "Print the program as Kappa transforms it (continuations at every pause point)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			out, err := runPythonKappa(pythonPath(python), "compile", args[0])
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&python, "python", "", "Python interpreter with the kappa package (default $KAPPA_PYTHON or python3)")
	return cmd
}
