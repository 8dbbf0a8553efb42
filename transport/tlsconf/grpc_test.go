package tlsconf

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestGRPC: a gRPC server with a node's configuration sees a client's
// identity through PeerFromContext; Credentials checks each connection's
// host, so an address the node certificate does not name is refused.
func TestGRPC(t *testing.T) {
	p := newPKI(t)
	cfg, err := load(t, p.node).ServerConfig(NodePair, tls.VerifyClientCertIfGiven)
	must(t, err)
	seen := make(chan Identity, 4)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.UnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			id, _ := PeerFromContext(ctx)
			seen <- id
			return h(ctx, req)
		}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	call := func(addr string, c *Certs, o ClientOptions) error {
		creds, err := c.Credentials(o)
		must(t, err)
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		must(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	client := load(t, p.client)
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port} {
		if err := call(addr, client, ClientOptions{Pair: &ClientPair, ServerRole: RoleNode}); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if id := <-seen; id != (Identity{Name: "alice", Role: RoleSubmitter}) {
			t.Errorf("%s: the server saw %v", addr, id)
		}
	}
	// The node certificate names 127.0.0.1 and localhost, not n1.invalid.
	err = call("127.0.0.1:"+port, client, ClientOptions{Host: "n1.invalid"})
	if err == nil || !strings.Contains(err.Error(), "n1.invalid") {
		t.Errorf("a host the certificate does not name: %v", err)
	}
	if err := call("127.0.0.1:"+port, client, ClientOptions{Host: "n1.invalid", AnyHost: true}); err != nil {
		t.Errorf("AnyHost: %v", err)
	}
	<-seen
}
