package raftgrpc

// The leader's side of pipelined replication: AppendEntries requests go out
// on one bidirectional stream without waiting for answers, up to
// MaxInFlight at a time; answers come back in order and complete the
// futures raft reads from Consumer. Any failure stops the pipeline for good
// and raft falls back to plain AppendEntries.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
)

const pipelineRPC = "AppendEntries (pipelined)"

type pipeline struct {
	t      *Transport
	target raft.ServerAddress
	stream pb.RaftTransport_AppendEntriesPipelineClient
	ctx    context.Context // the stream's; its cause says why it was cancelled
	cancel context.CancelCauseFunc

	sendMu   sync.Mutex
	inflight chan *appendFuture // sent and unanswered, in order; its capacity bounds the pipeline
	done     chan raft.AppendFuture

	stopOnce sync.Once
	stopped  chan struct{} // closed once err is set
	err      error
	received chan struct{} // closed when the receiver has exited
}

// AppendEntriesPipeline opens a pipeline to target.
func (t *Transport) AppendEntriesPipeline(_ raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	if t.cfg.MaxInFlight < 2 {
		return nil, raft.ErrPipelineReplicationNotSupported
	}
	conn, err := t.conns.get(target)
	if err != nil {
		return nil, t.rpcError(pipelineRPC, target, t.cfg.Timeout, err)
	}
	ctx, cancel := context.WithCancelCause(t.ctx)
	opening := time.AfterFunc(t.cfg.Timeout, func() { cancel(t.lateError()) })
	stream, err := pb.NewRaftTransportClient(conn).AppendEntriesPipeline(ctx)
	opening.Stop()
	if err != nil {
		cancel(err)
		return nil, t.rpcError(pipelineRPC, target, t.cfg.Timeout, causeOf(ctx, err))
	}
	p := &pipeline{
		t:      t,
		target: target,
		stream: stream,
		ctx:    ctx,
		cancel: cancel,
		// The receiver holds one more while it waits for its answer.
		inflight: make(chan *appendFuture, t.cfg.MaxInFlight-1),
		done:     make(chan raft.AppendFuture, t.cfg.MaxInFlight),
		stopped:  make(chan struct{}),
		received: make(chan struct{}),
	}
	if err := t.goTracked(p.receive); err != nil {
		cancel(err)
		return nil, t.rpcError(pipelineRPC, target, t.cfg.Timeout, err)
	}
	t.cfg.Logger.Debug("raft pipeline opened", "to", target)
	return p, nil
}

// lateError is why a pipeline's stream is cancelled when an answer is late.
func (t *Transport) lateError() error {
	return fmt.Errorf("no answer within %s: %w", t.cfg.Timeout, context.DeadlineExceeded)
}

// causeOf prefers the reason the stream's context was cancelled for (a late
// answer, raft closing the pipeline) over gRPC's bare "canceled".
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// AppendEntries sends args, blocking while MaxInFlight are unanswered.
func (p *pipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	f := &appendFuture{start: time.Now(), args: args, resp: resp, done: make(chan struct{})}
	msg := appendEntriesRequestToProto(args)
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	// Checked first: once stopped, nothing may enter inflight (see receive).
	select {
	case <-p.stopped:
		return nil, p.err
	default:
	}
	select {
	case p.inflight <- f:
	case <-p.stopped:
		return nil, p.err
	}
	if err := p.stream.Send(msg); err != nil {
		// Not waiting for the receiver to learn the stream's status: it may
		// be blocked handing raft an answer raft no longer reads.
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: the stream ended while sending", ErrUnreachable)
		}
		p.stop(causeOf(p.ctx, err))
		return nil, p.err
	}
	return f, nil
}

// Consumer delivers the futures in the order they were sent.
func (p *pipeline) Consumer() <-chan raft.AppendFuture { return p.done }

// Close stops the pipeline and fails what is still in flight.
func (p *pipeline) Close() error {
	p.stop(raft.ErrPipelineShutdown)
	<-p.received
	return nil
}

func (p *pipeline) stop(cause error) {
	p.stopOnce.Do(func() {
		p.err = p.t.rpcError(pipelineRPC, p.target, p.t.cfg.Timeout, cause)
		p.cancel(cause)
		close(p.stopped)
		p.t.cfg.Logger.Debug("raft pipeline stopped", "to", p.target, "err", p.err)
	})
}

// receive matches each answer with the oldest unanswered request. The
// stream has no deadline of its own, so a timer cancels it when the answer
// is later than Timeout after the request was sent.
func (p *pipeline) receive() {
	defer close(p.received)
	defer p.failInflight()
	for {
		var f *appendFuture
		select {
		case f = <-p.inflight:
		case <-p.ctx.Done(): // stopped, or the transport closed
			p.stop(causeOf(p.ctx, p.ctx.Err()))
			return
		}
		late := time.AfterFunc(time.Until(f.start.Add(p.t.cfg.Timeout)), func() { p.cancel(p.t.lateError()) })
		m, err := p.stream.Recv()
		late.Stop()
		if err != nil {
			p.stop(causeOf(p.ctx, err))
			f.respond(p.err)
			// Seen by raft as a failed append, which makes it leave the pipeline at once.
			select {
			case p.done <- f:
			default:
			}
			return
		}
		*f.resp = appendEntriesResponseFromProto(m)
		p.t.replication.note(p.target, f.resp)
		f.respond(nil)
		select {
		case p.done <- f:
		case <-p.ctx.Done():
			p.stop(causeOf(p.ctx, p.ctx.Err()))
			return
		}
	}
}

// failInflight fails the requests sent but never answered. Holding sendMu
// with stopped closed guarantees no more arrive.
func (p *pipeline) failInflight() {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	for {
		select {
		case f := <-p.inflight:
			f.respond(p.err)
		default:
			return
		}
	}
}

// appendFuture is one pipelined AppendEntries.
type appendFuture struct {
	start time.Time
	args  *raft.AppendEntriesRequest
	resp  *raft.AppendEntriesResponse
	err   error
	done  chan struct{}
}

func (f *appendFuture) respond(err error) {
	f.err = err
	close(f.done)
}

func (f *appendFuture) Error() error {
	<-f.done
	return f.err
}

func (f *appendFuture) Start() time.Time                      { return f.start }
func (f *appendFuture) Request() *raft.AppendEntriesRequest   { return f.args }
func (f *appendFuture) Response() *raft.AppendEntriesResponse { return f.resp }
