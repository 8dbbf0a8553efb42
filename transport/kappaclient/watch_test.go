package kappaclient

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// silentFirst answers the first watch with RUNNING and then sends nothing
// more, as a stream on a connection a network cut left half-open does;
// every later watch sees the job finished.
type silentFirst struct {
	wire.UnimplementedClientServiceServer
	watches atomic.Int32
}

func (s *silentFirst) WatchJob(req *wire.WatchJobRequest, stream wire.ClientService_WatchJobServer) error {
	if s.watches.Add(1) == 1 {
		stream.Send(&wire.JobStatus{JobId: req.GetJobId(), State: wire.JobState_JOB_RUNNING})
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	return stream.Send(&wire.JobStatus{JobId: req.GetJobId(), State: wire.JobState_JOB_SUCCEEDED, ResultJson: "42"})
}

// Regression (Jepsen-style suite, partition-clients): a watch whose stream
// goes silent must not hang until its context ends; it watches again.
func TestWatchRecoversFromASilentStream(t *testing.T) {
	defer func(d time.Duration) { WatchIdle = d }(WatchIdle)
	WatchIdle = 300 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	svc := &silentFirst{}
	wire.RegisterClientServiceServer(srv, svc)
	go srv.Serve(l)
	defer srv.Stop()
	c, err := New([]string{l.Addr().String()}, Insecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The bound is generous: without the idle timeout the watch would
	// hang for all of it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var states []wire.JobState
	st, err := c.Watch(ctx, 7, func(s *wire.JobStatus) { states = append(states, s.GetState()) })
	if err != nil {
		t.Fatalf("watch: %v (updates %v)", err, states)
	}
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "42" || svc.watches.Load() != 2 {
		t.Fatalf("last %v after %d watches (updates %v)", st, svc.watches.Load(), states)
	}
}
