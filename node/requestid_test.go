package node

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// A call's request id is in every line logged for it, on the node that
// took it and on the leader it was forwarded to, and comes back to the
// caller in a response header; a caller may choose it, within a safe form.
func TestRequestIDsFollowACallIntoTheLogs(t *testing.T) {
	logs := map[string]*nodetest.Output{"n1": {}, "n2": {}}
	inv := newHeldInvoker()
	defer close(inv.release)
	_, follower := twoNodes(t, inv, nil, func(id string) func(*Config) {
		return func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(logs[id], nil)) }
	})
	c := wire.NewClientServiceClient(dial(t, follower))
	submitWith := func(id string) string {
		t.Helper()
		ctx := context.Background()
		if id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, requestIDHeader, id)
		}
		var header metadata.MD
		_, err := c.SubmitJob(ctx, &wire.SubmitJobRequest{ClientId: "rid", RequestId: uint64(time.Now().UnixNano()),
			ProgramBundle: nodetest.BundleOf(t, prog), EventJson: []byte("{}")}, grpc.Header(&header))
		if err != nil {
			t.Fatal(err)
		}
		got := header.Get(requestIDHeader)
		if len(got) != 1 {
			t.Fatalf("the response header %s: %v", requestIDHeader, got)
		}
		return got[0]
	}
	leaderLogged := func(id string) bool {
		for _, line := range strings.Split(logs["n1"].String(), "\n") {
			if strings.Contains(line, `"msg":"job submitted"`) && strings.Contains(line, `"request":"`+id+`"`) {
				return true
			}
		}
		return false
	}

	if got := submitWith("trace-7"); got != "trace-7" {
		t.Fatalf("a chosen request id came back as %q", got)
	}
	nodetest.Eventually(t, 5*time.Second, "the leader's line for the forwarded submit with request=trace-7", func() bool { return leaderLogged("trace-7") })

	drawn := submitWith("")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(drawn) {
		t.Fatalf("a drawn request id: %q", drawn)
	}
	nodetest.Eventually(t, 5*time.Second, "the leader's line with the drawn id", func() bool { return leaderLogged(drawn) })

	if got := submitWith(`"forged" level=ERROR`); got == `"forged" level=ERROR` || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
		t.Fatalf("a request id not of the safe form was kept: %q", got)
	}
}
