package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/cmd/kappa/internal/bench"
	"github.com/kappa-serverless/kappa/node"
)

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the coordinator: committed task RPCs per second, failover and planned-restart times",
		Long: `Starts its own loopback cluster of this binary's servers whose lambdas are
simulated tasks written in Go that speak the real task API (no Python runs),
so the numbers are the coordinator's own.`,
	}
	cmd.AddCommand(newBenchRPCCmd(), newBenchFailoverCmd(), newBenchRestartCmd())
	return cmd
}

func newBenchRPCCmd() *cobra.Command {
	o := bench.RPCOptions{Out: os.Stdout}
	var levels, tls string
	cmd := &cobra.Command{
		Use:   "rpc [--tasks 1,16,128,1024] [--duration 10s] [--tls on|off|both]",
		Short: "Committed task RPCs per second and their latency at several numbers of concurrent tasks",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, s := range strings.Split(levels, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return usageError("--tasks: %q is not a positive number", s)
				}
				o.Tasks = append(o.Tasks, n)
			}
			switch tls {
			case "on":
				o.TLS = []bool{true}
			case "off":
				o.TLS = []bool{false}
			case "both":
				o.TLS = []bool{false, true}
			default:
				return usageError("--tls %q: want on, off or both", tls)
			}
			var err error
			if o.Binary, err = os.Executable(); err != nil {
				return err
			}
			return bench.RPC(o)
		},
	}
	cmd.Flags().StringVar(&levels, "tasks", "1,16,128,1024", "numbers of concurrent simulated tasks, one run each")
	cmd.Flags().DurationVar(&o.Duration, "duration", 10*time.Second, "measured time per run")
	cmd.Flags().IntVar(&o.Nodes, "nodes", 3, "cluster size")
	cmd.Flags().StringVar(&o.ProfileDir, "profile", "", "save a CPU profile of the leader during each run here")
	cmd.Flags().StringVar(&tls, "tls", "on", "the cluster's ports: on (TLS, as kappa server runs by default), off (--insecure), or both (each level on each, alternating)")
	cmd.Flags().StringVar(&o.RaftLogFormat, "raft-log-format", node.RaftLogBolt, "the servers' --raft-log-format: bolt or wal")
	return cmd
}

func newBenchFailoverCmd() *cobra.Command {
	o := bench.FailoverOptions{Out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "failover [--trials 30] [--tasks 16]",
		Short: "Kill the leader again and again; time the first committed RPC and every task's confirmation on the new leader",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var err error
			if o.Binary, err = os.Executable(); err != nil {
				return err
			}
			return bench.Failover(o)
		},
	}
	cmd.Flags().IntVar(&o.Trials, "trials", 30, "leader kills")
	cmd.Flags().IntVar(&o.Tasks, "tasks", 16, "running simulated tasks")
	cmd.Flags().DurationVar(&o.CallInterval, "call-interval", time.Second, "how often each task commits a call (a checkpoint)")
	return cmd
}

func newBenchRestartCmd() *cobra.Command {
	o := bench.RestartOptions{Out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "restart [--trials 20] [--tasks 4] [--call-interval 5ms]",
		Short: "SIGTERM the leader again and again; time the longest stretch without a committed call",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var err error
			if o.Binary, err = os.Executable(); err != nil {
				return err
			}
			_, err = bench.Restart(o)
			return err
		},
	}
	cmd.Flags().IntVar(&o.Trials, "trials", 20, "leader SIGTERMs")
	cmd.Flags().IntVar(&o.Tasks, "tasks", 4, "running simulated tasks")
	cmd.Flags().DurationVar(&o.CallInterval, "call-interval", 5*time.Millisecond, "how often each task commits a call")
	cmd.Flags().DurationVar(&o.ShutdownTimeout, "shutdown-timeout", node.DefaultConfig().ShutdownTimeout, "the servers' --shutdown-timeout (0: the leader stops without handing over)")
	return cmd
}
