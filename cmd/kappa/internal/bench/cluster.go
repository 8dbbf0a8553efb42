// Package bench measures the coordinator: committed task RPCs per second
// and failover times, on a loopback cluster of `kappa server` processes
// (node/proccluster) whose lambdas are simulated tasks written in Go that
// speak the real task API, so no Python runs and the numbers are the
// coordinator's own. `kappa bench` is its command line.
package bench

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

// benchCluster shapes a benchmark's cluster.
type benchCluster struct {
	nodes    int
	insecure bool // plaintext (--insecure) instead of TLS everywhere
	metrics  bool // each node serves metrics (see metricsAddrs)
	extra    []string
}

// startCluster starts o.nodes servers of binary wired to simulated
// lambdas that run run; stop ends everything and removes the cluster's
// files. With o.metrics, metrics[i] is node i's metrics address.
func startCluster(binary string, o benchCluster, run func(node.InvocationSpec)) (c *proccluster.Cluster, sim *simLambdas, metrics []string, stop func(), err error) {
	sim, err = startSimLambdas(run)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir, err := os.MkdirTemp("", "kappa-bench-")
	if err != nil {
		sim.close()
		return nil, nil, nil, nil, err
	}
	metrics = make([]string, o.nodes)
	c, err = proccluster.Start(proccluster.Options{Binary: binary, Dir: dir, Nodes: o.nodes, Lambda: sim.url(), Insecure: o.insecure,
		Addrs: func(i int) (raft, api string, extra []string, err error) {
			if raft, err = proccluster.FreeAddr("127.0.0.1"); err != nil {
				return
			}
			if api, err = proccluster.FreeAddr("127.0.0.1"); err != nil || !o.metrics {
				return
			}
			metrics[i], err = proccluster.FreeAddr("127.0.0.1")
			return raft, api, []string{"--metrics-addr", metrics[i]}, err
		},
		ServerArgs: append([]string{"--concurrency", "4096", "--log-level", "warn"}, o.extra...)})
	if err != nil {
		sim.close()
		os.RemoveAll(dir)
		return nil, nil, nil, nil, err
	}
	stop = func() { c.Stop(5 * time.Second); sim.close(); os.RemoveAll(dir) }
	return c, sim, metrics, stop, nil
}

// submitSim submits a job whose lambdas are simulated (the program is
// never run; it only has to be a valid bundle).
func submitSim(client *kappaclient.Client, event string) (uint64, error) {
	dir, err := os.MkdirTemp("", "kappa-bench-prog-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "sim.py")
	if err := os.WriteFile(p, []byte("def handler(event, context):\n    pass\n"), 0o644); err != nil {
		return 0, err
	}
	bundle, _, err := checkpoint.BuildBundle(p)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := client.Submit(ctx, bundle, []byte(event), "bench", 0)
	return sub.GetJobId(), err
}
