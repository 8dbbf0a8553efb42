package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/kappa-serverless/kappa/node/logging"
)

// requestIDHeader carries a call's request id: a client may choose it (to
// find its call in the logs), a forwarding node passes it on, and every
// node answers with it in a response header.
const requestIDHeader = "kappa-request-id"

// requestIDForm is what a request id chosen by a caller may look like;
// anything else is replaced (it goes into log lines).
var requestIDForm = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestIDOf takes the caller's request id or draws one.
func requestIDOf(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDHeader); len(v) > 0 && requestIDForm.MatchString(v[len(v)-1]) {
			return v[len(v)-1]
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	id := requestIDOf(ctx)
	_ = grpc.SetHeader(ctx, metadata.Pairs(requestIDHeader, id))
	return h(logging.WithRequestID(ctx, id), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	id := requestIDOf(ss.Context())
	_ = ss.SetHeader(metadata.Pairs(requestIDHeader, id))
	return h(srv, &requestIDServerStream{ServerStream: ss, ctx: logging.WithRequestID(ss.Context(), id)})
}

type requestIDServerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *requestIDServerStream) Context() context.Context { return s.ctx }
