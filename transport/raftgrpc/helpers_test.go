package raftgrpc

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// testLogger shows the transport's logs with -v only.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// listenLocal reserves a 127.0.0.1 port.
func listenLocal(t testing.TB) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// newTransport makes a Transport closed at the end of the test.
func newTransport(t testing.TB, cfg Config) *Transport {
	t.Helper()
	if cfg.LocalAddr == "" {
		cfg.LocalAddr = "127.0.0.1:1" // a pure client in these tests
	}
	cfg.Logger = testLogger()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// serving starts a Transport on its own server at a fresh port, with
// answer standing in for raft on its Consumer.
func serving(t testing.TB, cfg Config, answer func(raft.RPC)) *Transport {
	t.Helper()
	lis := listenLocal(t)
	cfg.LocalAddr = raft.ServerAddress(lis.Addr().String())
	tr := newTransport(t, cfg)
	go func() { _ = tr.Serve(lis) }()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case rpc := <-tr.Consumer():
				go answer(rpc)
			case <-stop:
				return
			}
		}
	}()
	return tr
}

// neverAnswer is a raft that takes RPCs and never responds.
func neverAnswer(raft.RPC) {}

// answerAppends echoes LeaderCommitIndex in LastLog, so that tests can match
// answers with requests.
func answerAppends(rpc raft.RPC) {
	req := rpc.Command.(*raft.AppendEntriesRequest)
	rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: req.LeaderCommitIndex, Success: true}, nil)
}

// requireRPCError checks that err names the RPC and the target and wraps want.
func requireRPCError(t testing.TB, err error, rpc string, target raft.ServerAddress, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s to %s succeeded, want %v", rpc, target, want)
	}
	var rerr *RPCError
	if !errors.As(err, &rerr) || rerr.RPC != rpc || rerr.Target != target {
		t.Fatalf("error %q does not name %s to %s", err, rpc, target)
	}
	if !strings.Contains(err.Error(), string(target)) || !strings.Contains(err.Error(), rpc) {
		t.Fatalf("error text %q lacks the RPC or the target", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("error %q does not wrap %v", err, want)
	}
}

// within fails the test if f takes longer than d (a hang, in these tests).
func within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still running after %s", what, d)
	}
}

// gatedReader yields nothing until gate is closed, then r.
type gatedReader struct {
	gate <-chan struct{}
	r    io.Reader
}

func (g gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	return g.r.Read(p)
}
