package kappaclient

import (
	"context"

	"google.golang.org/grpc"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// RotateKey makes a key id the cluster's current one (the leader first
// checks that every voter's key file holds it).
func (c *Client) RotateKey(ctx context.Context, to string) (*wire.RotateKeyResponse, error) {
	var out *wire.RotateKeyResponse
	err := c.do(ctx, func(ctx context.Context, conn *grpc.ClientConn) (err error) {
		out, err = wire.NewAdminServiceClient(conn).RotateKey(ctx, &wire.RotateKeyRequest{ToId: to})
		return err
	})
	return out, err
}
