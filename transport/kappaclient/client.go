// Package kappaclient is the Go client of a Kappa cluster's client and
// admin APIs. Given several node addresses it finds a node that answers:
// calls that fail because there is no leader (or a node is down) are
// retried on the next address with jittered backoff until the context's
// deadline; every write carries a client id and request id, so a retried
// write that did commit is not applied twice.
package kappaclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// maxRecv bounds a message from the cluster (a listing, a status).
// Sending is not bounded here: the server refuses what is over its own
// limit (kappa server --max-request-bytes) and says so.
const (
	maxRecv = 64 << 20
	maxSend = math.MaxInt32
)

// Client talks to a cluster through any of its nodes.
type Client struct {
	addrs    []string
	clientID string
	nextReq  atomic.Uint64
	dialOpts []grpc.DialOption

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	pref  int // index of the address that answered last
}

// WithCerts is how a client connects over TLS: it trusts the certs dir's
// ca.crt, accepts only a node certificate that names the host dialed, and
// presents the dir's client.crt when it has one (a token client's dir
// holds ca.crt alone).
func WithCerts(certs *tlsconf.Certs) (grpc.DialOption, error) {
	o := tlsconf.ClientOptions{ServerRole: tlsconf.RoleNode}
	if certs.Has(tlsconf.ClientPair) {
		o.Pair = &tlsconf.ClientPair
	}
	creds, err := certs.Credentials(o)
	if err != nil {
		return nil, err
	}
	return grpc.WithTransportCredentials(creds), nil
}

// Insecure is how a client connects in plaintext: to a cluster started
// with --insecure, or the embedded default on loopback.
func Insecure() grpc.DialOption { return grpc.WithTransportCredentials(insecure.NewCredentials()) }

// New makes a client for the given node addresses ("host:port", at least
// one). opts say how it dials: WithCerts or Insecure (there is no default:
// gRPC refuses to connect without either), and any credentials to send.
func New(addrs []string, opts ...grpc.DialOption) (*Client, error) {
	var clean []string
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a != "" {
			clean = append(clean, a)
		}
	}
	if len(clean) == 0 {
		return nil, errors.New("no cluster address given (use --cluster HOST:PORT[,HOST:PORT…])")
	}
	c := &Client{addrs: clean, dialOpts: opts, clientID: newClientID(), conns: map[string]*grpc.ClientConn{}}
	c.nextReq.Store(uint64(time.Now().UnixNano()))
	return c, nil
}

// Addrs are the node addresses the client was given.
func (c *Client) Addrs() []string { return append([]string(nil), c.addrs...) }

// Close closes every connection.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = map[string]*grpc.ClientConn{}
}

// Conn returns a connection to one address (for per-node calls).
func (c *Client) Conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.conns[addr]; conn != nil {
		return conn, nil
	}
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecv), grpc.MaxCallSendMsgSize(maxSend))}, c.dialOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	c.conns[addr] = conn
	return conn, nil
}

// Retryable says whether an error means "try again, maybe elsewhere": no
// leader, a node down or unreachable, or a call cut by a leader change.
func Retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted:
		return true
	}
	return false
}

// do runs call against the preferred address and moves on to the next one
// on retryable errors, with jittered exponential backoff, until ctx ends.
func (c *Client) do(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return c.doWith(ctx, 5*time.Second, call)
}

// doWith is do with each attempt bounded by attempt.
func (c *Client) doWith(ctx context.Context, attempt time.Duration, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	delay := 25 * time.Millisecond
	var last error
	for {
		c.mu.Lock()
		i := c.pref
		c.mu.Unlock()
		addr := c.addrs[i%len(c.addrs)]
		conn, err := c.Conn(addr)
		if err == nil {
			// Each attempt gets a bounded slice of the deadline, so a dead
			// node cannot eat the whole budget.
			actx, cancel := context.WithTimeout(ctx, attempt)
			err = call(actx, conn)
			cancel()
			if err == nil {
				return nil
			}
			err = explainSize(err)
			if ctx.Err() == nil && status.Code(err) == codes.DeadlineExceeded {
				err = status.Error(codes.Unavailable, fmt.Sprintf("%s did not answer in time", addr))
			}
		}
		if !Retryable(err) {
			return err
		}
		last = err
		c.mu.Lock()
		c.pref = (i + 1) % len(c.addrs)
		c.mu.Unlock()
		sleep := delay/2 + time.Duration(mrand.Int64N(int64(delay)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("no node of %s could serve the request: %s (%w)", strings.Join(c.addrs, ","), status.Convert(last).Message(), ctx.Err())
		case <-time.After(sleep):
		}
		delay = min(delay*2, time.Second)
	}
}

// explainSize names the server's limit in gRPC's own refusal of a
// message over it (which names only the sizes).
func explainSize(err error) error {
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.ResourceExhausted || !strings.Contains(s.Message(), "received message larger than max") {
		return err
	}
	return status.Error(codes.ResourceExhausted, "the request is larger than the cluster accepts (kappa server --max-request-bytes; "+
		"large inputs belong in your own storage): "+s.Message())
}

// request returns a fresh (client id, request id) pair for one write; the
// caller reuses it for every retry of that write.
func (c *Client) request() (string, uint64) { return c.clientID, c.nextReq.Add(1) }

func newClientID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return strings.ReplaceAll(host, " ", "_") + "-" + hex.EncodeToString(b[:])
}

// Token sends a bearer token with every call ("authorization: Bearer
// <token>"), for clusters that admit tokens (a node's --token-file).
// Without TLS (an --insecure cluster) whoever sees the traffic sees it.
func Token(token string) grpc.DialOption { return grpc.WithPerRPCCredentials(bearer(token)) }

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
