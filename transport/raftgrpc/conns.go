package raftgrpc

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
)

// reconnectBackoff replaces gRPC's default (up to 120 s between attempts):
// a restarted peer must be reachable again within about a second, or raft
// would count it down for far longer than it was.
var reconnectBackoff = backoff.Config{
	BaseDelay:  50 * time.Millisecond,
	Multiplier: 1.6,
	Jitter:     0.2,
	MaxDelay:   time.Second,
}

func (cfg *Config) dialOptions() []grpc.DialOption {
	creds := cfg.clientCreds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(cfg.MaxMsgSize),
			grpc.MaxCallSendMsgSize(cfg.MaxMsgSize),
		),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnectBackoff, MinConnectTimeout: cfg.Timeout}),
		// Peers are reached directly, never through an HTTP proxy from the environment.
		grpc.WithNoProxy(),
	}
	if cfg.SourceIP != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(cfg.SourceIP)}}
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}))
	}
	return opts
}

// connCache holds one gRPC connection per peer; gRPC multiplexes every RPC
// and stream to that peer over it and reconnects by itself.
type connCache struct {
	dialOpts []grpc.DialOption

	mu     sync.Mutex
	conns  map[raft.ServerAddress]*grpc.ClientConn
	closed bool
}

func newConnCache(dialOpts []grpc.DialOption) *connCache {
	return &connCache{dialOpts: dialOpts, conns: map[raft.ServerAddress]*grpc.ClientConn{}}
}

// get returns the peer's connection, creating it (without dialing yet).
func (c *connCache) get(target raft.ServerAddress) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, raft.ErrTransportShutdown
	}
	if conn, ok := c.conns[target]; ok {
		return conn, nil
	}
	conn, err := grpc.NewClient(string(target), c.dialOpts...)
	if err != nil {
		return nil, err
	}
	c.conns[target] = conn
	return conn, nil
}

func (c *connCache) drop(target raft.ServerAddress) {
	c.mu.Lock()
	conn := c.conns[target]
	delete(c.conns, target)
	c.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

func (c *connCache) dropAll() {
	c.mu.Lock()
	conns := c.conns
	c.conns = map[raft.ServerAddress]*grpc.ClientConn{}
	c.mu.Unlock()
	for _, conn := range conns {
		_ = conn.Close()
	}
}

// close drops every connection and refuses new ones.
func (c *connCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.dropAll()
}
