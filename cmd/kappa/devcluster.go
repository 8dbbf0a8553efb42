package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/node"
)

// dev-cluster starts a local cluster for development and failover drills:
// `kappa lambda-local` plus N `kappa server` processes on 127.0.0.1, one
// data dir each and a shared directory store, all stopped by Ctrl-C.
func newDevClusterCmd() *cobra.Command {
	var nodes, basePort, concurrency int
	var dir string
	var lambdaTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "dev-cluster [--nodes 3]",
		Short: "Start a local multi-node cluster (and its lambdas) in one command",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if nodes < 1 {
				return usageError("--nodes must be at least 1")
			}
			if dir == "" {
				dir = filepath.Join(os.TempDir(), "kappa-dev-cluster")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			lambdaAddr := fmt.Sprintf("127.0.0.1:%d", basePort+900)
			boot := &localCluster{dir: dir}
			lam, err := boot.spawn("lambda-local", "lambda-local", "--addr", lambdaAddr, "--lambda-timeout", lambdaTimeout.String(),
				"--concurrency", fmt.Sprint(concurrency))
			if err != nil {
				return err
			}
			c, err := startLocalCluster(dir, nodes, basePort, "http://"+lambdaAddr,
				"--lambda-timeout", lambdaTimeout.String(), "--concurrency", fmt.Sprint(concurrency))
			if err != nil {
				boot.procs = []*exec.Cmd{lam}
				boot.stop()
				return err
			}
			c.procs = append(c.procs, lam)
			defer c.stop()
			fmt.Printf(`kappa dev cluster: %d nodes, lambdas at http://%s, logs and data in %s

  export KAPPA_CLUSTER=%s
  kappa cluster members
  kappa run examples/fib.py --event '{"n": 10}'

Ctrl-C stops everything.
`, nodes, lambdaAddr, dir, strings.Join(c.addrs(), ","))
			ctx, stop := signalContext()
			defer stop()
			<-ctx.Done()
			fmt.Println("stopping the dev cluster")
			return nil
		},
	}
	f := cmd.Flags()
	d := node.DefaultConfig()
	f.IntVar(&nodes, "nodes", 3, "how many coordinator nodes")
	f.IntVar(&basePort, "base-port", 7000, "node i serves its API on base+i and Raft on base+100+i; lambdas on base+900")
	f.StringVar(&dir, "dir", "", "where data dirs, the store and logs go (default $TMPDIR/kappa-dev-cluster; kept, so a restart resumes)")
	f.DurationVar(&lambdaTimeout, "lambda-timeout", d.LambdaTimeout, "time limit of each lambda invocation")
	f.IntVar(&concurrency, "concurrency", d.MaxInvocations, "lambdas running at once")
	return cmd
}
