package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/checkpoint"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
)

// Limits bound what one request can make the cluster hold. Each is checked
// where the request arrives, before anything is stored or proposed, and a
// refusal names the limit, its value and the `kappa server` flag that
// changes it (docs/operations.md, "Limits and quotas").
type Limits struct {
	// RequestBytes caps one gRPC message the API accepts (gRPC refuses a
	// larger one from its length prefix, before reading its body).
	RequestBytes int
	// EventBytes caps a job's event (it lives in the job's record).
	EventBytes int
	// InlineResultBytes caps a job result's JSON kept in the job's record;
	// a larger result is written to the checkpoint store by the worker and
	// fetched by key (JobResult), so listings and the log never carry it.
	InlineResultBytes int
	// ResultBytes caps a job result's JSON altogether.
	ResultBytes int
	// InlineValueBytes caps one pickled value carried in a call (a queue
	// item, a spawn's start, a task's result); larger ones go by key.
	InlineValueBytes int
	// BundleBytes and BundleFiles cap a program bundle unpacked.
	BundleBytes int
	BundleFiles int
	// EntryBytes caps one Raft log entry: the proposer cuts batches at it,
	// and a single command larger than it is refused.
	EntryBytes int
}

// The flag of each limit, named in every refusal.
const (
	flagRequestBytes      = "max-request-bytes"
	flagEventBytes        = "max-event-bytes"
	flagInlineResultBytes = "max-inline-result-bytes"
	flagResultBytes       = "max-result-bytes"
	flagInlineValueBytes  = "max-inline-value-bytes"
	flagBundleBytes       = "max-bundle-bytes"
	flagBundleFiles       = "max-bundle-files"
	flagEntryBytes        = "max-entry-bytes"
)

// Text fields a client or task names things with; not configurable.
const (
	maxNameBytes  = 4 << 10
	maxErrorBytes = 64 << 10
)

// defaultLimits: values a normal pipeline never meets (docs/operations.md
// says why each is what it is).
func defaultLimits() Limits {
	return Limits{
		RequestBytes:      16 << 20,
		EventBytes:        1 << 20,
		InlineResultBytes: 256 << 10,
		ResultBytes:       64 << 20,
		InlineValueBytes:  64 << 10,
		BundleBytes:       int(checkpoint.DefaultBundleLimits.Bytes),
		BundleFiles:       checkpoint.DefaultBundleLimits.Files,
		EntryBytes:        4 << 20,
	}
}

func (l *Limits) setDefaults() {
	d := defaultLimits()
	orDefault(&l.RequestBytes, d.RequestBytes)
	orDefault(&l.EventBytes, d.EventBytes)
	orDefault(&l.InlineResultBytes, d.InlineResultBytes)
	orDefault(&l.ResultBytes, d.ResultBytes)
	orDefault(&l.InlineValueBytes, d.InlineValueBytes)
	orDefault(&l.BundleBytes, d.BundleBytes)
	orDefault(&l.BundleFiles, d.BundleFiles)
	orDefault(&l.EntryBytes, d.EntryBytes)
}

// check refuses limits that contradict each other.
func (l Limits) check() error {
	switch {
	case l.RequestBytes < 0 || l.EventBytes < 0 || l.InlineResultBytes < 0 || l.ResultBytes < 0 ||
		l.InlineValueBytes < 0 || l.BundleBytes < 0 || l.BundleFiles < 0 || l.EntryBytes < 0:
		return errors.New("node: a size limit is negative")
	case l.EventBytes+maxNameBytes >= l.EntryBytes:
		return fmt.Errorf("node: --%s (%s) must exceed --%s (%s): a submit carries its event in one log entry",
			flagEntryBytes, human(int64(l.EntryBytes)), flagEventBytes, human(int64(l.EventBytes)))
	case l.InlineResultBytes+l.InlineValueBytes+maxNameBytes >= l.EntryBytes:
		return fmt.Errorf("node: --%s (%s) must exceed --%s plus --%s: an exit carries both in one log entry",
			flagEntryBytes, human(int64(l.EntryBytes)), flagInlineResultBytes, flagInlineValueBytes)
	case l.EntryBytes > raftgrpc.DefaultMaxMsgSize/2:
		return fmt.Errorf("node: --%s is at most %s: an entry must fit a message between nodes", flagEntryBytes, human(raftgrpc.DefaultMaxMsgSize/2))
	case l.InlineResultBytes > l.ResultBytes:
		return fmt.Errorf("node: --%s must not exceed --%s", flagInlineResultBytes, flagResultBytes)
	}
	return nil
}

// maxAppendEntries is how many entries one AppendEntries message may
// carry: as many of the largest entries as fit three quarters of a
// message between nodes, the rest being room for the message's own
// fields (raft's default is 64).
func maxAppendEntries(entryBytes int) int {
	return max(1, min(64, raftgrpc.DefaultMaxMsgSize*3/4/entryBytes))
}

// logCacheEntries is how many recent log entries each node keeps in memory
// (raft.LogCache): enough for replication and apply to read what was just
// written, bounded so full-size entries hold at most logCacheBytes.
func logCacheEntries(entryBytes int) int {
	return max(8, min(256, logCacheBytes/max(entryBytes, 1)))
}

const logCacheBytes = 64 << 20

// callInlineBytes is how many inline value bytes one call may carry; the
// worker puts values beyond it in the store, so a call stays well inside
// one log entry.
func (l Limits) callInlineBytes() int { return l.EntryBytes / 2 }

// LimitError is a request over a size limit: RESOURCE_EXHAUSTED on the
// wire, final for the caller (retrying cannot make it fit).
type LimitError struct {
	What  string // "the event", "the program bundle unpacked", …
	Size  int64  // the request's size; -1 when only "more than Limit" is known
	Limit int64
	Flag  string // the `kappa server` flag that sets the limit
	Unit  string // "" for bytes, else what is counted ("files")
	Hint  string // what to do instead (optional)
}

func (e *LimitError) Error() string {
	size, limit := human(e.Size), human(e.Limit)
	if e.Unit != "" {
		size, limit = fmt.Sprintf("%d %s", e.Size, e.Unit), fmt.Sprintf("%d %s", e.Limit, e.Unit)
	}
	msg := fmt.Sprintf("%s is %s; the limit is %s (kappa server --%s)", e.What, size, limit, e.Flag)
	if e.Size < 0 {
		msg = fmt.Sprintf("%s is more than the limit of %s (kappa server --%s)", e.What, limit, e.Flag)
	}
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// human prints a byte count the way the flags take it (1MiB, 256KiB),
// with the exact count when it is not a round number.
func human(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n >= 1<<u.shift {
			if n%(1<<u.shift) == 0 {
				return fmt.Sprintf("%d%s", n>>u.shift, u.name)
			}
			return fmt.Sprintf("%.1f%s (%d bytes)", float64(n)/float64(int64(1)<<u.shift), u.name, n)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// overLimit builds the error for a value of n bytes against a limit.
func overLimit(what string, n, limit int, flag, hint string) error {
	if n <= limit {
		return nil
	}
	return &LimitError{What: what, Size: int64(n), Limit: int64(limit), Flag: flag, Hint: hint}
}

// limitRPCError is a LimitError on the wire.
func limitRPCError(ctx context.Context, err error) error {
	return rpcError(ctx, codes.ResourceExhausted, wire.ErrorReason_LIMIT_EXCEEDED, err.Error())
}

// refused maps a refused request: over a limit, or else bad input.
func refused(ctx context.Context, what string, err error) error {
	var limit *LimitError
	if errors.As(err, &limit) {
		return limitRPCError(ctx, fmt.Errorf("%s: %w", what, err))
	}
	return invalid(ctx, what+": "+err.Error())
}

// checkSubmit checks a submit against the limits and the rules of a
// valid job: a JSON event, a Kappa program bundle whose bytes match the
// hash the client computed (if it sent one). It reads the bundle without
// keeping its files: a zip bomb costs this node one file's buffer. A
// *LimitError is over a limit; any other error is bad input.
func (l Limits) checkSubmit(req *wire.SubmitJobRequest) (hash string, err error) {
	if err := overLimit("the event", len(req.GetEventJson()), l.EventBytes, flagEventBytes,
		"pass large inputs through your own storage and put where they are in the event"); err != nil {
		return "", err
	}
	if err := EventJSONError(req.GetEventJson()); err != nil {
		return "", err
	}
	if len(req.GetName()) > maxNameBytes {
		return "", fmt.Errorf("the job name is %d bytes; names are at most %d", len(req.GetName()), maxNameBytes)
	}
	bundle := req.GetProgramBundle()
	_, err = checkpoint.CheckBundle(bundle, checkpoint.BundleLimits{Files: l.BundleFiles, Bytes: int64(l.BundleBytes)})
	if tooBig := (*checkpoint.BundleLimitError)(nil); errors.As(err, &tooBig) {
		if tooBig.Files {
			return "", &LimitError{What: "the program bundle's file count", Size: tooBig.Size, Limit: tooBig.Limit,
				Flag: flagBundleFiles, Unit: "files"}
		}
		return "", &LimitError{What: "the program bundle unpacked", Size: tooBig.Size, Limit: tooBig.Limit,
			Flag: flagBundleBytes, Hint: "move data out of the program and read it from storage at run time"}
	}
	if err != nil {
		return "", err
	}
	hash = checkpoint.BundleHash(bundle)
	if sent := req.GetProgramHash(); sent != "" && sent != hash {
		return "", fmt.Errorf("the program bundle's bytes hash to %s, but the client computed %s: "+
			"they were altered on the way; submit again", hash, sent)
	}
	return hash, nil
}

// EventJSONError says where an event is not JSON (an empty event is null).
func EventJSONError(event []byte) error {
	if len(event) == 0 || json.Valid(event) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(event))
	var v any
	err := dec.Decode(&v)
	at := len(event) // where the problem is: by default, the end
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		at = int(syn.Offset) - 1 // the offending byte is the last one read
	case err == nil:
		err = errors.New("more than one JSON value")
		at = int(dec.InputOffset())
		for at < len(event) && bytes.IndexByte([]byte(" \t\r\n"), event[at]) >= 0 {
			at++
		}
	}
	line, col := position(event, at)
	return fmt.Errorf("the event is not valid JSON: %v at line %d, column %d", err, line, col)
}

// position is the 1-based line and column of the byte at index at.
func position(data []byte, at int) (line, col int) {
	at = min(max(at, 0), len(data))
	before := data[:at]
	return bytes.Count(before, []byte("\n")) + 1, at - bytes.LastIndexByte(before, '\n')
}

// wire is what a worker learns of the limits at its claim.
func (l Limits) wire() *wire.Limits {
	return &wire.Limits{InlineValueBytes: uint64(l.InlineValueBytes), CallInlineBytes: uint64(l.callInlineBytes()),
		InlineResultBytes: uint64(l.InlineResultBytes), ResultBytes: uint64(l.ResultBytes)}
}

// checkCall checks a task's call against the limits (a worker keeps to
// them, so only a broken or hostile one meets these), and shortens a
// failure's error text to maxErrorBytes: a failing task must still fail.
func (l Limits) checkCall(c *wire.CallRequest, clusterVersion uint32) error {
	value := func(what string, v *wire.Value) error {
		return overLimit(what, len(v.GetInline()), l.InlineValueBytes, flagInlineValueBytes, "larger values go to the checkpoint store by key")
	}
	switch op := c.GetOp().(type) {
	case *wire.CallRequest_Spawn:
		for i, ch := range op.Spawn.GetChildren() {
			if err := value(fmt.Sprintf("child %d's start value", i), ch.GetStart()); err != nil {
				return err
			}
			if len(ch.GetName()) > maxNameBytes {
				return fmt.Errorf("child %d's name is %d bytes; names are at most %d", i, len(ch.GetName()), maxNameBytes)
			}
		}
	case *wire.CallRequest_Enqueue:
		for i, it := range op.Enqueue.GetItems() {
			if err := value(fmt.Sprintf("queue item %d", i), it); err != nil {
				return err
			}
		}
	case *wire.CallRequest_Exit:
		e := op.Exit
		if err := value("the task's result", e.GetResult()); err != nil {
			return err
		}
		if err := overLimit("the job's result JSON", len(e.GetResultJson()), l.InlineResultBytes, flagInlineResultBytes,
			"a larger result goes to the checkpoint store by key"); err != nil {
			return err
		}
		if e.GetResultJsonKey() == "" {
			return nil
		}
		if err := overLimit("the job's result JSON", int(min(e.GetResultJsonBytes(), 1<<62)), l.ResultBytes, flagResultBytes,
			"return a smaller result and write bulk data to your own storage"); err != nil {
			return err
		}
		if clusterVersion < 2 {
			return &LimitError{What: "the job's result JSON", Size: int64(e.GetResultJsonBytes()), Limit: int64(l.InlineResultBytes),
				Flag: flagInlineResultBytes, Hint: fmt.Sprintf("results stored by key need every voter upgraded (the cluster runs command version %d)", clusterVersion)}
		}
		return resultKeyError(c, e)
	case *wire.CallRequest_Fail:
		if msg := op.Fail.GetError(); len(msg) > maxErrorBytes {
			op.Fail.Error = msg[:maxErrorBytes] + fmt.Sprintf("\n… (cut by the coordinator: the error was %d bytes, at most %d are kept)", len(msg), maxErrorBytes)
		}
	}
	return nil
}

// resultKeyError checks that a stored result's key is this task's own
// result value of this call, so a task cannot point its job at other keys.
func resultKeyError(c *wire.CallRequest, e *wire.ExitOp) error {
	k, err := checkpoint.ParseKey(e.GetResultJsonKey())
	ref := c.GetRef()
	if err != nil || k.Kind != checkpoint.KindValue || k.Value != checkpoint.ResultJSONValue || k.Job != ref.GetJobId() ||
		k.Task != ref.GetTaskId() || k.Epoch != ref.GetEpoch() || k.Seq != c.GetSeq() || e.GetResultJson() != "" {
		return fmt.Errorf("exit: result_json_key %q is not this call's result JSON value (and result_json must then be empty)", e.GetResultJsonKey())
	}
	return nil
}
