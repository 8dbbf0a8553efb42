package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

func newDrainCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "drain NODE_ID",
		Short: "Move leadership off a node and keep it off until undrain (before maintenance on it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				leader, err := c.Drain(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Printf("node %s drained; leader is %s\n", args[0], leader)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func newUndrainCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "undrain NODE_ID",
		Short: "Let a drained node lead again (leadership stays where it is)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				leader, err := c.Undrain(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Printf("node %s undrained; leader is %s\n", args[0], leader)
				return nil
			})
		},
	}
	f.register(cmd)
	return cmd
}
