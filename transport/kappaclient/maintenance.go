package kappaclient

import (
	"context"

	"google.golang.org/grpc"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Drain keeps a node off leadership until Undrain; it returns the leader
// once leadership has moved off the node.
func (c *Client) Drain(ctx context.Context, id string) (string, error) {
	return c.setDrain(ctx, id, true)
}

// Undrain lets a drained node lead again; it returns the current leader.
func (c *Client) Undrain(ctx context.Context, id string) (string, error) {
	return c.setDrain(ctx, id, false)
}

func (c *Client) setDrain(ctx context.Context, id string, drained bool) (string, error) {
	var out *wire.DrainResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		admin := wire.NewAdminServiceClient(conn)
		if drained {
			out, err = admin.Drain(ctx, &wire.DrainRequest{NodeId: id})
		} else {
			out, err = admin.Undrain(ctx, &wire.DrainRequest{NodeId: id})
		}
		return err
	})
	return out.GetLeaderId(), err
}
