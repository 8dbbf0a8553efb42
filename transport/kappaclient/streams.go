package kappaclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// openStream starts a server stream on a connection and returns its
// receiver: next takes one message and says whether it was the last one
// wanted.
type openStream func(ctx context.Context, conn *grpc.ClientConn) (next func() (bool, error), err error)

// follow runs a server stream until it delivers its last wanted message.
// A broken stream (the node died, a leader change) is opened again on the
// next node with backoff; only ctx or an error that retrying cannot help
// ends it early. notFoundRetries: a job a lagging replica does not know
// yet is looked for again (elsewhere).
func (c *Client) follow(ctx context.Context, notFoundRetries bool, open openStream) error {
	delay := 50 * time.Millisecond
	for {
		c.mu.Lock()
		addr := c.addrs[c.pref%len(c.addrs)]
		c.mu.Unlock()
		done, err := c.receive(ctx, addr, open)
		if done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		code := status.Code(err)
		if err != nil && !Retryable(err) && code != codes.Canceled && (code != codes.NotFound || !notFoundRetries) {
			return err
		}
		c.mu.Lock()
		c.pref = (c.pref + 1) % len(c.addrs)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// receive runs one stream on one node. A stream that stays silent may sit
// on a connection a network cut left half-open, where no error will ever
// arrive: it is given up after WatchIdle (the caller opens it again).
func (c *Client) receive(ctx context.Context, addr string, open openStream) (bool, error) {
	conn, err := c.Conn(addr)
	if err != nil {
		return false, status.Error(codes.Unavailable, err.Error())
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(WatchIdle, cancel)
	defer idle.Stop()
	next, err := open(sctx, conn)
	if err != nil {
		return false, err
	}
	for {
		done, err := next()
		if err != nil && ctx.Err() == nil && sctx.Err() != nil {
			return false, status.Error(codes.Unavailable, fmt.Sprintf("%s sent nothing for %s", addr, WatchIdle))
		}
		if errors.Is(err, io.EOF) {
			return false, status.Error(codes.Unavailable, fmt.Sprintf("%s ended the stream early", addr))
		}
		if err != nil {
			return false, err
		}
		idle.Reset(WatchIdle)
		if done {
			return true, nil
		}
	}
}
