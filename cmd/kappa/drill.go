package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/cmd/kappa/internal/drill"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

// drill runs a failover drill against a live cluster (admin only): the
// cluster injects each fault in itself while a canary pipeline runs.
func newDrillCmd() *cobra.Command {
	var f clusterFlags
	var o drill.Options
	var faults string
	var out outputFlag
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Drill failover on a live cluster: inject faults while a canary runs, measure recovery, check the results (admin only)",
		Long: `kappa drill submits a canary pipeline (a spawn tree, a queue, exactly-once
external calls to a receiver the drill starts) for each fault, waits until
its tasks run, makes the cluster inject the fault in itself, and measures
the time to a new leader and to every running task confirmed by the leader.
It checks each canary's result, its external effects and the audit of its
tasks, and at the end equal state hashes on every replica. The exit fault
needs a supervisor that starts the node again (systemd, kappa dev-cluster);
without one pass --no-supervisor. Exit status 0: every check passed; 1: a
check failed (the report names it); 2: usage.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := out.check(); err != nil {
				return err
			}
			o.Faults = nil
			for _, name := range strings.Split(faults, ",") {
				if name = strings.TrimSpace(name); name == "" {
					continue
				}
				if !slices.Contains(drill.Faults, name) {
					return usageError("--faults: unknown fault %q (known: %s)", name, strings.Join(drill.Faults, ","))
				}
				o.Faults = append(o.Faults, name)
			}
			if o.Pause <= 0 || o.Recovery <= 0 || o.Canary <= 0 {
				return usageError("--pause, --recovery and --canary must be positive")
			}
			if dryRun {
				return f.do(func(ctx context.Context, c *kappaclient.Client) error {
					m, err := c.Members(ctx)
					if err != nil {
						return err
					}
					fmt.Print(drill.Plan(o, m.GetMembers()))
					return nil
				})
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, stop := signalContext()
			defer stop()
			o.Progress = os.Stderr
			rep, err := drill.Run(ctx, c, o)
			if err != nil {
				return err
			}
			if err := out.print(rep, func() error { rep.Text(os.Stdout); return nil }); err != nil {
				return err
			}
			if !rep.Pass {
				return &exitError{code: 1, msg: "drill failed: " + failedChecks(rep)}
			}
			return nil
		},
	}
	f.register(cmd)
	out.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&faults, "faults", strings.Join(drill.Faults, ","), "the faults to inject, in order")
	fl.BoolVar(&o.NoSupervisor, "no-supervisor", false, "nothing starts an exited node again: skip the exit fault")
	fl.BoolVar(&dryRun, "dry-run", false, "say what the drill would do, and do nothing")
	fl.DurationVar(&o.Pause, "pause", 2*time.Second, "how long pause-leader stops the leader's loops")
	fl.DurationVar(&o.Recovery, "recovery", time.Minute, "the longest a recovery may take before its fault fails")
	fl.DurationVar(&o.Canary, "canary", 6*time.Second, "about how long each canary's tasks run")
	fl.StringVar(&o.ReceiverIP, "receiver-ip", "127.0.0.1", "the IP the canary's receiver listens on; the lambdas must reach it")
	return cmd
}

// failedChecks names what failed, for the exit message.
func failedChecks(rep *drill.Report) string {
	var out []string
	for _, f := range rep.Faults {
		if f.Result == "FAIL" {
			out = append(out, f.Fault+" ("+strings.Join(f.Problems, "; ")+")")
		}
	}
	if rep.Replicas.Result != "PASS" {
		out = append(out, "replicas ("+rep.Replicas.Detail+")")
	}
	return strings.Join(out, ", ")
}
