package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// maxBatch bounds how many commands share one log entry (Limits.EntryBytes
// bounds its bytes).
const maxBatch = 256

// maxInFlight bounds the entries handed to raft and not yet committed:
// while they replicate, new commands gather into the next, larger entry.
// Raft writes and replicates entries one after another anyway, so more in
// flight only makes entries smaller: on the 3-node benchmark 2 gave ~9k
// RPCs/s at 128 tasks where 4 gave ~7k (docs/benchmarks.md); 1 would lose
// the overlap of the leader's write with the previous entry's round trip.
const maxInFlight = 2

// proposer turns commands into log entries. Commands that arrive while an
// entry is being formed share it, so under load many RPCs cost one entry
// (one fsync, one replication round) instead of one each.
type proposer struct {
	raft *raft.Raft
	// clusterVersion is the newest command version every voter knows; a
	// command that needs more is refused before it reaches the log.
	clusterVersion func() uint32
	// From command version 2 on, the leader stamps the cluster clock on
	// every command and its quotas on the commands they govern.
	clock  func() int64
	quotas *pb.Quotas
	// wallOffset shifts the wall clock stamped in now_unix_ms (tests).
	wallOffset time.Duration
	timeout    time.Duration
	// maxBytes caps an entry's encoded size: a batch is cut before it, and
	// a command that alone is larger is refused.
	maxBytes int
	queue    chan *proposal
	done     chan struct{}
	inFlight chan struct{}
	metrics  *metrics
}

type proposal struct {
	cmd    *pb.Command
	size   int // the command's share of the entry's encoding
	result chan proposed
}

type proposed struct {
	res *pb.Result
	err error
}

// ErrNoLeader: this node is not the leader (or lost leadership before the
// command committed). For a lost leadership the command may still commit,
// which is why every retried write is de-duplicated by the FSM.
var ErrNoLeader = errors.New("not the leader")

func newProposer(r *raft.Raft, timeout time.Duration, maxBytes int, m *metrics, clusterVersion func() uint32) *proposer {
	p := &proposer{raft: r, clusterVersion: clusterVersion, timeout: timeout, maxBytes: maxBytes, queue: make(chan *proposal, maxBatch*4), done: make(chan struct{}),
		inFlight: make(chan struct{}, maxInFlight), metrics: m}
	go p.run()
	return p
}

func (p *proposer) close() { close(p.done) }

// propose commits one command and returns its result. The command's
// now_unix_ms, cluster clock and quotas are stamped here, on the leader.
func (p *proposer) propose(ctx context.Context, cmd *pb.Command) (*pb.Result, error) {
	have := p.clusterVersion()
	if have >= 2 && p.clock != nil {
		cmd.ClockMs = p.clock()
		if governed(cmd) {
			cmd.Quotas = p.quotas
		}
	}
	if need := fsm.RequiredVersion(cmd); need > have {
		return nil, &versionGateError{need: need, have: have}
	}
	cmd.NowUnixMs = time.Now().Add(p.wallOffset).UnixMilli()
	pr := &proposal{cmd: cmd, size: entryShare(cmd), result: make(chan proposed, 1)}
	if pr.size > p.maxBytes-entryOverhead {
		return nil, &LimitError{What: "the request's log entry", Size: int64(pr.size), Limit: int64(p.maxBytes), Flag: flagEntryBytes,
			Hint: "send large values through the checkpoint store"}
	}
	select {
	case p.queue <- pr:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.done:
		return nil, fmt.Errorf("%w: the node is shutting down", ErrNoLeader)
	}
	select {
	case r := <-pr.result:
		return r.res, r.err
	case <-ctx.Done():
		// The command may still commit; its proposer retries with the
		// same identity and gets the stored result.
		return nil, ctx.Err()
	}
}

// entryOverhead is room for an entry's own fields (its version).
const entryOverhead = 16

// entryShare is what a command adds to an entry's encoding: the command
// and its field tag and length.
func entryShare(cmd *pb.Command) int {
	n := proto.Size(cmd)
	return n + 1 + protowire.SizeVarint(uint64(n))
}

func (p *proposer) run() {
	var carry *proposal // did not fit into the last entry: starts the next
	for {
		var batch []*proposal
		if carry != nil {
			batch, carry = append(batch, carry), nil
		} else {
			select {
			case first := <-p.queue:
				batch = append(batch, first)
			case <-p.done:
				return
			}
		}
		// Wait for room in the pipeline; meanwhile commands queue up and
		// join this batch.
		select {
		case p.inFlight <- struct{}{}:
		case <-p.done:
			finish(batch, nil, fmt.Errorf("%w: the node is shutting down", ErrNoLeader))
			return
		}
		size := entryOverhead + batch[0].size
	drain:
		for len(batch) < maxBatch {
			select {
			case more := <-p.queue:
				if size+more.size > p.maxBytes {
					carry = more
					break drain
				}
				batch = append(batch, more)
				size += more.size
			default:
				break drain
			}
		}
		p.apply(batch)
	}
}

// apply hands the batch to raft without waiting for it to commit, so the
// next batch forms while this one replicates; raft keeps their order.
func (p *proposer) apply(batch []*proposal) {
	e := &pb.Entry{Commands: make([]*pb.Command, len(batch))}
	for i, pr := range batch {
		e.Commands[i] = pr.cmd
	}
	if v := fsm.EntryVersion(e.Commands); v > 1 {
		e.Version = v
	}
	data, err := proto.Marshal(e)
	if err != nil {
		<-p.inFlight
		finish(batch, nil, fmt.Errorf("node: encoding a log entry: %w", err))
		return
	}
	p.metrics.entries.Inc()
	p.metrics.commands.Add(float64(len(batch)))
	p.metrics.entryBytes.Observe(float64(len(data)))
	started := time.Now()
	f := p.raft.Apply(data, p.timeout)
	go func() {
		err := f.Error()
		p.metrics.commitTime.Observe(time.Since(started).Seconds())
		<-p.inFlight
		if err != nil {
			finish(batch, nil, applyError(err))
			return
		}
		switch r := f.Response().(type) {
		case []*pb.Result:
			finish(batch, r, nil)
		case error:
			finish(batch, nil, r)
		default:
			finish(batch, nil, fmt.Errorf("node: unexpected apply response %T", r))
		}
	}()
}

func finish(batch []*proposal, results []*pb.Result, err error) {
	for i, pr := range batch {
		if err != nil {
			pr.result <- proposed{err: err}
			continue
		}
		pr.result <- proposed{res: results[i]}
	}
}

func applyError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return fmt.Errorf("%w: %v", ErrNoLeader, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v (the command may still commit; retry with the same identity)", ErrNoLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: timed out waiting to replicate (no quorum?): %v", ErrNoLeader, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: the node is shutting down", ErrNoLeader)
	}
	return fmt.Errorf("node: apply: %w", err)
}

// versionGateError: a command newer than some voter knows. The leader
// waits until every voter is upgraded before it uses a new command kind.
type versionGateError struct{ need, have uint32 }

func (e *versionGateError) Error() string {
	return fmt.Sprintf("this needs command version %d, but the cluster runs version %d until every voter is upgraded (`kappa cluster members` shows each node's version)", e.need, e.have)
}
