package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// dev-cluster starts a local cluster for development and failover drills:
// `kappa lambda-local` plus N `kappa server` processes on 127.0.0.1, one
// data dir each and a shared directory store, all stopped by Ctrl-C. It is
// secure like a production cluster: its own CA, a certificate per node and
// for lambda-local, an admin client certificate, signed invocations.
func newDevClusterCmd() *cobra.Command {
	var nodes, basePort, concurrency int
	var metrics bool
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
			// Absolute: the store URL and certs dirs are handed to other processes.
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			lambdaAddr := fmt.Sprintf("127.0.0.1:%d", basePort+900)
			var metricsAddr func(int) (string, error)
			if metrics {
				metricsAddr = func(i int) (string, error) { return fmt.Sprintf("127.0.0.1:%d", basePort+200+i+1), nil }
			}
			shared := []string{"--lambda-timeout", lambdaTimeout.String(), "--concurrency", fmt.Sprint(concurrency)}
			c, err := proccluster.Start(proccluster.Options{Binary: self, Dir: dir, Nodes: nodes,
				Addrs: func(i int) (string, string, []string, error) {
					return fmt.Sprintf("127.0.0.1:%d", basePort+100+i+1), fmt.Sprintf("127.0.0.1:%d", basePort+i+1), nil, nil
				},
				MetricsAddr: metricsAddr,
				LambdaLocal: proccluster.LambdaLocal{Addr: lambdaAddr, Args: shared},
				ServerArgs:  shared,
				// A node a drill tells to exit is started again (kappa drill).
				Supervise: true,
			})
			if err != nil {
				return err
			}
			defer c.Stop(5 * time.Second)
			certs := c.CertsDir()
			fmt.Printf(`kappa dev cluster: %d nodes, lambdas at https://%s, logs and data in %s
TLS everywhere with the cluster's own CA (%s); you are its admin:

export KAPPA_CLUSTER=%s KAPPA_CERTS_DIR=%s

  kappa cluster members
  kappa run examples/fib.py --event '{"n": 10}'
  kappa drill

A node that exits for a drill is started again, as systemd would.

Ctrl-C stops everything.
`, nodes, lambdaAddr, dir, filepath.Dir(certs), strings.Join(c.Addrs(), ","), certs)
			for _, n := range c.Nodes {
				if n.MetricsAddr != "" {
					fmt.Printf("%s: metrics https://%s/metrics (admin certificate), health https://%s/readyz\n", n.ID, n.MetricsAddr, n.MetricsAddr)
				}
			}
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
	f.IntVar(&basePort, "base-port", 7000, "node i serves its API on base+i, Raft on base+100+i and (with --metrics) metrics on base+200+i; lambdas on base+900")
	f.BoolVar(&metrics, "metrics", false, "give every node a metrics and health port (--metrics-addr): /metrics, /livez, /readyz on base+200+i")
	f.StringVar(&dir, "dir", "", "where data dirs, the store and logs go (default $TMPDIR/kappa-dev-cluster; kept, so a restart resumes)")
	f.DurationVar(&lambdaTimeout, "lambda-timeout", d.LambdaTimeout, "time limit of each lambda invocation")
	f.IntVar(&concurrency, "concurrency", d.MaxInvocations, "lambdas running at once")
	return cmd
}
