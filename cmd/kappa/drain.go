package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

func newDrainCmd() *cobra.Command {
	return newDrainFlagCmd("drain", "Move leadership off a node and keep it off until undrain (before maintenance on it)", true)
}

func newUndrainCmd() *cobra.Command {
	return newDrainFlagCmd("undrain", "Let a drained node lead again (leadership stays where it is)", false)
}

// newDrainFlagCmd sets or clears a node's drain flag.
func newDrainFlagCmd(name, short string, drained bool) *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   name + " NODE_ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				set := c.Undrain
				if drained {
					set = c.Drain
				}
				leader, err := set(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Printf("node %s %sed; leader is %s\n", args[0], name, leader)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}
