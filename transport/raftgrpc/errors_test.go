package raftgrpc

import (
	"bytes"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// everyRPC calls each client method of tr once against target and returns
// the errors by RPC name.
func everyRPC(tr *Transport, target raft.ServerAddress) map[string]error {
	append := heartbeat
	append.PrevLogEntry = 1
	errs := map[string]error{
		heartbeatRPC:     tr.AppendEntries("s", target, &heartbeat, &raft.AppendEntriesResponse{}),
		"AppendEntries":  tr.AppendEntries("s", target, &append, &raft.AppendEntriesResponse{}),
		"RequestVote":    tr.RequestVote("s", target, &raft.RequestVoteRequest{}, &raft.RequestVoteResponse{}),
		"RequestPreVote": tr.RequestPreVote("s", target, &raft.RequestPreVoteRequest{}, &raft.RequestPreVoteResponse{}),
		"TimeoutNow":     tr.TimeoutNow("s", target, &raft.TimeoutNowRequest{}, &raft.TimeoutNowResponse{}),
		"InstallSnapshot": tr.InstallSnapshot("s", target, &raft.InstallSnapshotRequest{Size: 3},
			&raft.InstallSnapshotResponse{}, bytes.NewReader([]byte{1, 2, 3})),
	}
	if p, err := tr.AppendEntriesPipeline("s", target); err != nil {
		errs[pipelineRPC] = err
	} else {
		_, errs[pipelineRPC] = p.AppendEntries(&append, &raft.AppendEntriesResponse{})
		if errs[pipelineRPC] == nil {
			errs[pipelineRPC] = (<-p.Consumer()).Error()
		}
		_ = p.Close()
	}
	return errs
}

// TestUnreachablePeer: nothing listens at the target; every RPC fails fast
// with ErrUnreachable, naming itself and the target.
func TestUnreachablePeer(t *testing.T) {
	lis := listenLocal(t)
	target := raft.ServerAddress(lis.Addr().String())
	_ = lis.Close()
	client := newTransport(t, Config{})
	within(t, 10*time.Second, "RPCs to a closed port", func() {
		for rpc, err := range everyRPC(client, target) {
			t.Log(err)
			requireRPCError(t, err, rpc, target, ErrUnreachable)
		}
	})
}

// TestClosedTransport: after Close every RPC fails at once with
// raft.ErrTransportShutdown, and so does a call that was waiting.
func TestClosedTransport(t *testing.T) {
	server := serving(t, Config{}, neverAnswer)
	target := server.LocalAddr()
	client := newTransport(t, Config{Timeout: time.Minute})

	waiting := make(chan error, 1)
	go func() {
		waiting <- client.RequestVote("s", target, &raft.RequestVoteRequest{}, &raft.RequestVoteResponse{})
	}()
	time.Sleep(200 * time.Millisecond) // let it reach the server, which never answers
	within(t, 5*time.Second, "Close with a call in flight", func() { _ = client.Close() })
	select {
	case err := <-waiting:
		requireRPCError(t, err, "RequestVote", target, raft.ErrTransportShutdown)
	case <-time.After(5 * time.Second):
		t.Fatal("a call in flight hangs after Close")
	}
	within(t, 5*time.Second, "RPCs on a closed transport", func() {
		for rpc, err := range everyRPC(client, target) {
			requireRPCError(t, err, rpc, target, raft.ErrTransportShutdown)
		}
	})
	if err := client.Listen("127.0.0.1:0"); err == nil {
		t.Fatal("Listen on a closed transport succeeded")
	}
}

// TestClosedServer: RPCs waiting on a peer whose transport closes fail as
// unreachable at once, not at their deadline.
func TestClosedServer(t *testing.T) {
	server := serving(t, Config{}, neverAnswer)
	target := server.LocalAddr()
	client := newTransport(t, Config{Timeout: time.Minute})
	waiting := make(chan error, 1)
	go func() {
		waiting <- client.RequestVote("s", target, &raft.RequestVoteRequest{}, &raft.RequestVoteResponse{})
	}()
	time.Sleep(200 * time.Millisecond)
	_ = server.Close()
	select {
	case err := <-waiting:
		requireRPCError(t, err, "RequestVote", target, ErrUnreachable)
	case <-time.After(5 * time.Second):
		t.Fatal("a call to a closed server hangs")
	}
}

// TestPipelineClosedByRaft: appends after Close fail with
// raft.ErrPipelineShutdown.
func TestPipelineClosedByRaft(t *testing.T) {
	server := serving(t, Config{}, answerAppends)
	client := newTransport(t, Config{})
	p, err := client.AppendEntriesPipeline("s", server.LocalAddr())
	if err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "pipeline Close", func() { _ = p.Close() })
	_, err = p.AppendEntries(&heartbeat, &raft.AppendEntriesResponse{})
	requireRPCError(t, err, pipelineRPC, server.LocalAddr(), raft.ErrPipelineShutdown)
}
