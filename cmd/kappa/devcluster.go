package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
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
			self, err := os.Executable()
			if err != nil {
				return err
			}
			lambdaAddr := fmt.Sprintf("127.0.0.1:%d", basePort+900)
			var procs []*exec.Cmd
			stopAll := func() {
				for _, p := range procs {
					p.Process.Signal(syscall.SIGTERM)
				}
				for _, p := range procs {
					p.Wait()
				}
			}
			start := func(name string, args ...string) error {
				log, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
				if err != nil {
					return err
				}
				p := exec.Command(self, args...)
				p.Stdout, p.Stderr = log, log
				if err := p.Start(); err != nil {
					return fmt.Errorf("starting %s: %w", name, err)
				}
				procs = append(procs, p)
				return nil
			}
			if err := start("lambda-local", "lambda-local", "--addr", lambdaAddr, "--lambda-timeout", lambdaTimeout.String(),
				"--concurrency", fmt.Sprint(concurrency)); err != nil {
				return err
			}
			var apis []string
			for i := 1; i <= nodes; i++ {
				api := fmt.Sprintf("127.0.0.1:%d", basePort+i)
				args := []string{"server", "--node-id", fmt.Sprintf("n%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("n%d", i)),
					"--raft-addr", fmt.Sprintf("127.0.0.1:%d", basePort+100+i), "--api-addr", api,
					"--store", "file://" + filepath.Join(dir, "store"), "--lambda", "http://" + lambdaAddr,
					"--lambda-timeout", lambdaTimeout.String(), "--concurrency", fmt.Sprint(concurrency)}
				if i == 1 {
					args = append(args, "--bootstrap")
				} else {
					args = append(args, "--join", apis[0])
				}
				if err := start(fmt.Sprintf("n%d", i), args...); err != nil {
					stopAll()
					return err
				}
				apis = append(apis, api)
				if i == 1 {
					// The first node must lead before the others join it.
					time.Sleep(1500 * time.Millisecond)
				}
			}
			cluster := strings.Join(apis, ",")
			fmt.Printf(`kappa dev cluster: %d nodes, lambdas at http://%s, logs and data in %s

  export KAPPA_CLUSTER=%s
  kappa cluster members
  kappa run examples/fib.py --event '{"n": 10}'

Ctrl-C stops everything.
`, nodes, lambdaAddr, dir, cluster)
			ctx, stop := signalContext()
			defer stop()
			<-ctx.Done()
			fmt.Println("stopping the dev cluster")
			stopAll()
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "how many coordinator nodes")
	f.IntVar(&basePort, "base-port", 7000, "node i serves its API on base+i and Raft on base+100+i; lambdas on base+900")
	f.StringVar(&dir, "dir", "", "where data dirs, the store and logs go (default $TMPDIR/kappa-dev-cluster; kept, so a restart resumes)")
	f.DurationVar(&lambdaTimeout, "lambda-timeout", 15*time.Minute, "time limit of each lambda invocation")
	f.IntVar(&concurrency, "concurrency", 16, "lambdas running at once")
	return cmd
}
