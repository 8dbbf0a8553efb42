package kappaclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Backup copies the cluster's replicated state from the leader: its header
// and the state's bytes. Any node names the leader; holdGC asks the leader
// to pause garbage collection of the checkpoint store that long (so a copy
// of the store made meanwhile holds every key the state references).
func (c *Client) Backup(ctx context.Context, holdGC time.Duration) (*wire.BackupHeader, []byte, error) {
	delay := 50 * time.Millisecond
	var last error
	for {
		c.mu.Lock()
		i := c.pref
		c.mu.Unlock()
		hdr, data, err := c.backupVia(ctx, c.addrs[i%len(c.addrs)], holdGC)
		if err == nil {
			return hdr, data, nil
		}
		if !Retryable(err) {
			return nil, nil, err
		}
		last = err
		c.mu.Lock()
		c.pref = (i + 1) % len(c.addrs)
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("no leader of %s could serve the backup: %s (%w)", strings.Join(c.addrs, ","), status.Convert(last).Message(), ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// backupVia asks addr who leads and streams the backup from the leader.
func (c *Client) backupVia(ctx context.Context, addr string, holdGC time.Duration) (*wire.BackupHeader, []byte, error) {
	target := addr
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := c.Status(sctx, addr)
	cancel()
	if err != nil {
		return nil, nil, status.Error(codes.Unavailable, fmt.Sprintf("%s: %s", addr, status.Convert(err).Message()))
	}
	if l := st.GetLeaderApiAddr(); l != "" && l != "unknown" {
		target = l
	}
	conn, err := c.Conn(target)
	if err != nil {
		return nil, nil, status.Error(codes.Unavailable, err.Error())
	}
	stream, err := wire.NewAdminServiceClient(conn).Backup(ctx, &wire.BackupRequest{HoldGcMs: holdGC.Milliseconds()})
	if err != nil {
		return nil, nil, err
	}
	var hdr *wire.BackupHeader
	var data []byte
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		switch p := chunk.GetPart().(type) {
		case *wire.BackupChunk_Header:
			hdr = p.Header
			data = make([]byte, 0, hdr.GetSize())
		case *wire.BackupChunk_Data:
			if hdr == nil {
				return nil, nil, fmt.Errorf("backup from %s: state bytes before the header", target)
			}
			data = append(data, p.Data...)
		}
	}
	if hdr == nil {
		return nil, nil, status.Error(codes.Unavailable, fmt.Sprintf("backup from %s ended before its header", target))
	}
	return hdr, data, nil
}
