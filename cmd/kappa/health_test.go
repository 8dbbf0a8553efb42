package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// readyz asks a node's /readyz anonymously (no client certificate).
func readyz(t *testing.T, c *proccluster.Cluster, n *proccluster.Node) (int, node.Readiness) {
	t.Helper()
	base, admin, err := c.NodeHTTP(n.MetricsAddr)
	if err != nil {
		t.Fatal(err)
	}
	tr := admin.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.GetClientCertificate = nil
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(base + "/readyz")
	if err != nil {
		return 0, node.Readiness{Reason: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r node.Readiness
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("/readyz of %s: %v: %s", n.ID, err, body)
	}
	return resp.StatusCode, r
}

// grpcHealth is the standard health service's answer for service on n,
// asked anonymously (no client certificate).
func grpcHealth(t *testing.T, c *proccluster.Cluster, n *proccluster.Node, service string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	conn := anonymousConn(t, c, n)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		t.Fatalf("health check of %s: %v", n.ID, err)
	}
	return resp.GetStatus()
}

// waitFor polls cond until it holds or limit passes, and says how long it
// took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// /readyz and the gRPC health service of a node say 503 / NOT_SERVING
// soon after its cluster loses its leader (a heartbeat timeout for a
// follower to notice, an election timeout to give up) and recover when a
// quorum is back; kappa status's exit code names each case.
func TestHealthFollowsTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := startCluster(t, proccluster.Options{Nodes: 3, MetricsAddr: proccluster.FreeLoopback})
	all := strings.Join(c.Addrs(), ",")
	status := func(addrs string) result {
		return kappa(t, "status", "--cluster", addrs, "--certs-dir", c.CertsDir(), "--timeout", "10s")
	}
	for _, n := range c.Nodes {
		code, r := readyz(t, c, n)
		if code != 200 || !r.Ready || r.LeaderID == "" || r.AppliedIndex < r.CommitIndex || r.NodeID != n.ID {
			t.Fatalf("/readyz of %s: %d %+v", n.ID, code, r)
		}
		for _, s := range []string{"", "kappa.v1.ClientService", "kappa.v1.TaskService"} {
			// A node that just joined serves from its next poll on.
			waitFor(t, 5*time.Second, "gRPC health of "+n.ID+" "+s, func() bool { return grpcHealth(t, c, n, s) == healthpb.HealthCheckResponse_SERVING })
		}
	}
	if r := status(all); r.code != exitOK {
		t.Fatalf("healthy cluster: status exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dead, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if r := status(all + "," + dead); r.code != exitNodeUnreachable || !strings.Contains(r.stderr, dead) {
		t.Fatalf("one address dead: status exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := status(dead); r.code != exitUnreachable {
		t.Fatalf("only a dead address: status exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Two of three down: the survivor has no leader.
	survivor := c.Nodes[2]
	c.Kill(c.Nodes[0])
	c.Kill(c.Nodes[1])
	took := waitFor(t, 10*time.Second, "/readyz 503 without a quorum", func() bool {
		code, r := readyz(t, c, survivor)
		return code == http.StatusServiceUnavailable && !r.Ready && strings.Contains(r.Reason, "no leader")
	})
	t.Logf("/readyz turned 503 %s after the kill", took)
	waitFor(t, 5*time.Second, "gRPC health NOT_SERVING", func() bool {
		return grpcHealth(t, c, survivor, "") == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if r := status(all); r.code != exitNoLeader {
		t.Fatalf("no quorum: status exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, n := range c.Nodes[:2] {
		if err := c.Restart(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.Nodes {
		waitFor(t, 30*time.Second, "/readyz 200 of "+n.ID+" after the restart", func() bool {
			code, r := readyz(t, c, n)
			return code == 200 && r.Ready
		})
	}
	waitFor(t, 5*time.Second, "gRPC health SERVING again", func() bool {
		return grpcHealth(t, c, survivor, "kappa.v1.AdminService") == healthpb.HealthCheckResponse_SERVING
	})
	if r := status(all); r.code != exitOK {
		t.Fatalf("recovered cluster: status exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
