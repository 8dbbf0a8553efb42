package raftgrpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var heartbeat = raft.AppendEntriesRequest{RPCHeader: filledHeader, Term: 3, Leader: []byte("leader")}

// TestHeartbeatFastPath: with raft stuck on a slow RPC (nobody reads
// Consumer), heartbeats the shortcut allows still reach the heartbeat
// handler and are answered.
func TestHeartbeatFastPath(t *testing.T) {
	server := serving(t, Config{}, neverAnswer)
	var served atomic.Int64
	server.SetHeartbeatHandler(func(rpc raft.RPC) {
		served.Add(1)
		rpc.Respond(&raft.AppendEntriesResponse{Term: 3, Success: true}, nil)
	})
	server.SetHeartbeatShortcut(func(term uint64) bool { return term == heartbeat.Term })
	client := newTransport(t, Config{Timeout: 300 * time.Millisecond})
	target := server.LocalAddr()

	var resp raft.AppendEntriesResponse
	if err := client.AppendEntries("s", target, &heartbeat, &resp); err != nil || !resp.Success {
		t.Fatalf("heartbeat: %v, %+v", err, resp)
	}
	if served.Load() != 1 {
		t.Fatalf("heartbeat handler ran %d times, want 1", served.Load())
	}
	append := heartbeat
	append.LeaderCommitIndex = 5
	err := client.AppendEntries("s", target, &append, &resp)
	requireRPCError(t, err, "AppendEntries", target, context.DeadlineExceeded)
}

// TestUnaryRPCsCarryAnswers: each unary RPC reaches raft with its command
// and brings raft's answer back; an error from raft comes back as ErrRejected.
func TestUnaryRPCsCarryAnswers(t *testing.T) {
	server := serving(t, Config{}, func(rpc raft.RPC) {
		switch cmd := rpc.Command.(type) {
		case *raft.RequestVoteRequest:
			rpc.Respond(&raft.RequestVoteResponse{Term: cmd.Term, Granted: cmd.LeadershipTransfer}, nil)
		case *raft.RequestPreVoteRequest:
			rpc.Respond(&raft.RequestPreVoteResponse{Term: cmd.Term + 1, Granted: true}, nil)
		case *raft.TimeoutNowRequest:
			rpc.Respond(&raft.TimeoutNowResponse{RPCHeader: cmd.RPCHeader}, nil)
		default:
			rpc.Respond(nil, errors.New("disk full"))
		}
	})
	client := newTransport(t, Config{})
	target := server.LocalAddr()

	var vote raft.RequestVoteResponse
	if err := client.RequestVote("s", target, &raft.RequestVoteRequest{Term: 4, LeadershipTransfer: true}, &vote); err != nil || vote.Term != 4 || !vote.Granted {
		t.Fatalf("RequestVote: %v, %+v", err, vote)
	}
	var pre raft.RequestPreVoteResponse
	if err := client.RequestPreVote("s", target, &raft.RequestPreVoteRequest{Term: 4}, &pre); err != nil || pre.Term != 5 || !pre.Granted {
		t.Fatalf("RequestPreVote: %v, %+v", err, pre)
	}
	var now raft.TimeoutNowResponse
	if err := client.TimeoutNow("s", target, &raft.TimeoutNowRequest{RPCHeader: filledHeader}, &now); err != nil || string(now.ID) != "node-1" {
		t.Fatalf("TimeoutNow: %v, %+v", err, now)
	}
	append := heartbeat
	append.Entries = []*raft.Log{filledLog(1, raft.LogCommand)}
	err := client.AppendEntries("s", target, &append, &raft.AppendEntriesResponse{})
	requireRPCError(t, err, "AppendEntries", target, ErrRejected)
	if !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("raft's error text lost: %v", err)
	}
}

// TestPipelineAnswersInOrder: many appends in flight, answers matched with
// requests in order on Consumer.
func TestPipelineAnswersInOrder(t *testing.T) {
	server := serving(t, Config{}, answerAppends)
	client := newTransport(t, Config{MaxInFlight: 16})
	p, err := client.AppendEntriesPipeline("s", server.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 500
	go func() {
		for i := 1; i <= n; i++ {
			req := heartbeat
			req.LeaderCommitIndex = uint64(i)
			req.Entries = []*raft.Log{filledLog(uint64(i), raft.LogCommand)}
			if _, err := p.AppendEntries(&req, &raft.AppendEntriesResponse{}); err != nil {
				t.Errorf("append %d: %v", i, err)
				return
			}
		}
	}()
	for i := 1; i <= n; i++ {
		select {
		case f := <-p.Consumer():
			if err := f.Error(); err != nil || f.Response().LastLog != uint64(i) || f.Request().LeaderCommitIndex != uint64(i) {
				t.Fatalf("future %d: %v, answer for %d", i, err, f.Response().LastLog)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("answer %d never came", i)
		}
	}
}

// TestPipelineBoundsInFlight: with raft not answering, exactly MaxInFlight
// appends are accepted and the next blocks until an answer comes.
func TestPipelineBoundsInFlight(t *testing.T) {
	gate := make(chan struct{})
	server := serving(t, Config{}, func(rpc raft.RPC) { <-gate; answerAppends(rpc) })
	client := newTransport(t, Config{MaxInFlight: 4})
	p, err := client.AppendEntriesPipeline("s", server.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var accepted atomic.Int64
	go func() {
		for range 10 {
			req := heartbeat
			req.PrevLogEntry = 1
			if _, err := p.AppendEntries(&req, &raft.AppendEntriesResponse{}); err != nil {
				return
			}
			accepted.Add(1)
		}
	}()
	waitFor(t, 10*time.Second, "4 appends in flight", func() bool { return accepted.Load() >= 4 })
	time.Sleep(200 * time.Millisecond) // room for a fifth, which must not go out
	if got := accepted.Load(); got != 4 {
		t.Fatalf("%d appends in flight, want MaxInFlight = 4", got)
	}
	close(gate)
	for i := range 10 {
		select {
		case f := <-p.Consumer():
			if err := f.Error(); err != nil {
				t.Fatalf("future %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("answer %d never came", i)
		}
	}
}

// TestPipelineStopsOnLateAnswer: an append unanswered within Timeout fails
// its future (delivered on Consumer, so raft notices) and the pipeline.
func TestPipelineStopsOnLateAnswer(t *testing.T) {
	server := serving(t, Config{}, neverAnswer)
	client := newTransport(t, Config{Timeout: 300 * time.Millisecond})
	target := server.LocalAddr()
	p, err := client.AppendEntriesPipeline("s", target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	req := heartbeat
	req.PrevLogEntry = 1
	if _, err := p.AppendEntries(&req, &raft.AppendEntriesResponse{}); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-p.Consumer():
		requireRPCError(t, f.Error(), pipelineRPC, target, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the late append was never failed")
	}
	_, err = p.AppendEntries(&req, &raft.AppendEntriesResponse{})
	requireRPCError(t, err, pipelineRPC, target, context.DeadlineExceeded)
}

// TestInstallSnapshotStreams: raft reads the start of the snapshot before
// the leader has read the rest from its disk, so nothing waits for (or
// buffers) the whole snapshot; the bytes arrive intact in many chunks.
func TestInstallSnapshotStreams(t *testing.T) {
	data := make([]byte, 5<<20+123)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	const head = 64 << 10
	firstBytesRead := make(chan struct{})
	server := serving(t, Config{}, func(rpc raft.RPC) {
		req := rpc.Command.(*raft.InstallSnapshotRequest)
		got := make([]byte, head)
		_, err := io.ReadFull(rpc.Reader, got)
		close(firstBytesRead)
		rest, err2 := io.ReadAll(rpc.Reader)
		got = append(got, rest...)
		ok := err == nil && err2 == nil && int64(len(got)) == req.Size && bytes.Equal(got, data)
		rpc.Respond(&raft.InstallSnapshotResponse{Term: req.Term, Success: ok}, nil)
	})
	client := newTransport(t, Config{SnapshotChunkSize: 32 << 10})
	body := io.MultiReader(bytes.NewReader(data[:head]), gatedReader{gate: firstBytesRead, r: bytes.NewReader(data[head:])})
	var resp raft.InstallSnapshotResponse
	within(t, 20*time.Second, "InstallSnapshot", func() {
		err := client.InstallSnapshot("s", server.LocalAddr(), &raft.InstallSnapshotRequest{Term: 2, Size: int64(len(data))}, &resp, body)
		if err != nil || !resp.Success || resp.Term != 2 {
			t.Errorf("InstallSnapshot: %v, %+v", err, resp)
		}
	})
}

// TestInstallSnapshotFailsWhenLeaderBreaksOff: a local read error stops the
// stream, and raft's read of the snapshot fails instead of hanging.
func TestInstallSnapshotFailsWhenLeaderBreaksOff(t *testing.T) {
	readErr := make(chan error, 1)
	reading := make(chan struct{})
	server := serving(t, Config{}, func(rpc raft.RPC) {
		_, err := io.ReadFull(rpc.Reader, make([]byte, 100))
		close(reading)
		if err == nil {
			_, err = io.Copy(io.Discard, rpc.Reader)
		}
		readErr <- err
		rpc.Respond(&raft.InstallSnapshotResponse{}, err)
	})
	client := newTransport(t, Config{})
	target := server.LocalAddr()
	// The leader's disk fails once raft on the follower is reading.
	body := io.MultiReader(bytes.NewReader(make([]byte, 100)), gatedReader{gate: reading, r: iotestErrReader{}})
	err := client.InstallSnapshot("s", target, &raft.InstallSnapshotRequest{Size: 1000}, &raft.InstallSnapshotResponse{}, body)
	requireRPCError(t, err, "InstallSnapshot", target, errDiskGone)
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("raft read a broken-off snapshot to a clean end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("raft's read of a broken-off snapshot hangs")
	}
}

var errDiskGone = errors.New("disk gone")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errDiskGone }

func TestSnapshotDeadlineScalesWithSize(t *testing.T) {
	cfg, err := Config{LocalAddr: "x:1", Timeout: 10 * time.Second, SnapshotMinRate: 1 << 20}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.snapshotTimeout(0); got != 10*time.Second {
		t.Errorf("empty snapshot: %s", got)
	}
	if got := cfg.snapshotTimeout(30 << 20); got != 40*time.Second {
		t.Errorf("30 MiB at 1 MiB/s: %s, want 40s", got)
	}
}

func TestConfigChecks(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "LocalAddr") {
		t.Fatalf("no LocalAddr: %v", err)
	}
	if _, err := New(Config{LocalAddr: "x:1", SnapshotChunkSize: 64 << 20}); err == nil {
		t.Fatal("a chunk as large as MaxMsgSize accepted")
	}
	tr, err := New(Config{LocalAddr: "x:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.cfg.Timeout != DefaultTimeout || tr.cfg.MaxMsgSize != DefaultMaxMsgSize || tr.cfg.MaxInFlight != DefaultMaxInFlight {
		t.Fatalf("defaults not applied: %+v", tr.cfg)
	}
	if got := tr.DecodePeer(tr.EncodePeer("id", "host:9")); got != "host:9" {
		t.Fatalf("peer round trip: %q", got)
	}
}

// TestCloseLeavesNoGoroutines: after RPCs of every kind (and a pipeline
// left open), closing both sides ends every goroutine they started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		lis := listenLocal(t)
		server, err := New(Config{LocalAddr: raft.ServerAddress(lis.Addr().String()), Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan struct{})
		go func() { defer close(served); _ = server.Serve(lis) }()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case rpc := <-server.Consumer():
					if rpc.Reader != nil {
						_, _ = io.Copy(io.Discard, rpc.Reader)
						rpc.Respond(&raft.InstallSnapshotResponse{Success: true}, nil)
						continue
					}
					answerAppends(rpc)
				case <-stop:
					return
				}
			}
		}()
		client, err := New(Config{LocalAddr: "127.0.0.1:1", Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		target := server.LocalAddr()
		req := heartbeat
		req.PrevLogEntry = 1
		if err := client.AppendEntries("s", target, &req, &raft.AppendEntriesResponse{}); err != nil {
			t.Fatal(err)
		}
		p, err := client.AppendEntriesPipeline("s", target)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.AppendEntries(&req, &raft.AppendEntriesResponse{}); err != nil {
			t.Fatal(err)
		}
		<-p.Consumer()
		_ = client.InstallSnapshot("s", target, &raft.InstallSnapshotRequest{Size: 10}, &raft.InstallSnapshotResponse{}, bytes.NewReader(make([]byte, 10)))
		within(t, 10*time.Second, "Close", func() {
			_ = client.Close()
			_ = server.Close()
		})
		<-served
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
