package node

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

const okProgram = "def handler(event, context):\n    return 1\n"

// refusedWith checks an RPC error's code, reason trailer and message.
func refusedWith(t *testing.T, what string, err error, trailer metadata.MD, code codes.Code, want ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
		return
	}
	if code == codes.ResourceExhausted && len(trailer.Get(reasonKey)) > 0 && trailer.Get(reasonKey)[0] != "LIMIT_EXCEEDED" {
		t.Errorf("%s: reason %v, want LIMIT_EXCEEDED", what, trailer.Get(reasonKey))
	}
	for _, w := range want {
		if !strings.Contains(status.Convert(err).Message(), w) {
			t.Errorf("%s: %q does not say %q", what, status.Convert(err).Message(), w)
		}
	}
}

// zipOf builds a zip of name → content, deflated, without a manifest
// unless one is among the files.
func zipOf(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSubmitRefusalsNameTheLimitAndCommitNothing(t *testing.T) {
	n := testNode(t, &scriptedInvoker{t: t, script: func(*fakeWorker) lambda.Outcome { return lambda.OK }}, t.TempDir(),
		func(c *Config) { c.Limits.RequestBytes = 4 << 20; c.Limits.BundleFiles = 50 })
	defer n.Close()
	c := clientFor(t, n)
	manifest := []byte(`{"format":1,"entry":"app.py"}`)
	bomb := map[string][]byte{"kappa.json": manifest, "app.py": []byte(okProgram)}
	for i := range 8 {
		bomb[fmt.Sprintf("data%d.bin", i)] = make([]byte, 16<<20) // 128 MiB of zeros, deflated to ~130 KB
	}
	many := map[string][]byte{"kappa.json": manifest, "app.py": []byte(okProgram)}
	for i := range 60 {
		many[fmt.Sprintf("m%d.py", i)] = []byte("x = 1\n")
	}
	good := nodetest.BundleOf(t, okProgram)
	cases := []struct {
		what   string
		req    *wire.SubmitJobRequest
		code   codes.Code
		saying []string
	}{
		{"an event over the limit", &wire.SubmitJobRequest{ProgramBundle: good, EventJson: []byte(`"` + strings.Repeat("x", 1<<20) + `"`)},
			codes.ResourceExhausted, []string{"the event is 1.0MiB (1048578 bytes); the limit is 1MiB (kappa server --max-event-bytes)"}},
		{"an event that is not JSON", &wire.SubmitJobRequest{ProgramBundle: good, EventJson: []byte("{\n  \"n\": 3,\n}")},
			codes.InvalidArgument, []string{"the event is not valid JSON", "at line 3, column 1"}},
		{"two JSON values", &wire.SubmitJobRequest{ProgramBundle: good, EventJson: []byte(`{} {}`)},
			codes.InvalidArgument, []string{"not valid JSON"}},
		{"a zip bomb", &wire.SubmitJobRequest{ProgramBundle: zipOf(t, bomb), EventJson: []byte("{}")},
			codes.ResourceExhausted, []string{"the program bundle unpacked is more than the limit of 64MiB (kappa server --max-bundle-bytes)"}},
		{"too many files", &wire.SubmitJobRequest{ProgramBundle: zipOf(t, many), EventJson: []byte("{}")},
			codes.ResourceExhausted, []string{"file count is 62 files; the limit is 50 files (kappa server --max-bundle-files)"}},
		{"a zip that is no Kappa bundle", &wire.SubmitJobRequest{ProgramBundle: zipOf(t, map[string][]byte{"app.py": []byte(okProgram)}), EventJson: []byte("{}")},
			codes.InvalidArgument, []string{"not a Kappa bundle: it has no kappa.json manifest"}},
		{"a newer bundle format", &wire.SubmitJobRequest{ProgramBundle: zipOf(t, map[string][]byte{"kappa.json": []byte(`{"format":2,"entry":"app.py"}`), "app.py": nil}), EventJson: []byte("{}")},
			codes.InvalidArgument, []string{"format 2 is not supported"}},
		{"no zip at all", &wire.SubmitJobRequest{ProgramBundle: []byte("#!/bin/sh\necho hi\n"), EventJson: []byte("{}")},
			codes.InvalidArgument, []string{"not a zip archive"}},
		{"bytes altered on the way", &wire.SubmitJobRequest{ProgramBundle: good, EventJson: []byte("{}"), ProgramHash: strings.Repeat("0", 64)},
			codes.InvalidArgument, []string{"the client computed " + strings.Repeat("0", 64)}},
		{"a request over the limit", &wire.SubmitJobRequest{ProgramBundle: good, EventJson: []byte(`"` + strings.Repeat("x", 5<<20) + `"`)},
			codes.ResourceExhausted, []string{"received message larger than max"}},
	}
	for i, tc := range cases {
		tc.req.ClientId, tc.req.RequestId = "limits", uint64(i+1)
		var trailer metadata.MD
		_, err := c.SubmitJob(context.Background(), tc.req, grpc.Trailer(&trailer))
		refusedWith(t, tc.what, err, trailer, tc.code, tc.saying...)
	}
	// The Go client names the server's flag in gRPC's own refusal.
	kc, err := kappaclient.New([]string{n.APIAddr()}, kappaclient.Insecure())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	_, err = kc.Submit(context.Background(), good, []byte(`"`+strings.Repeat("x", 5<<20)+`"`), "big", 0)
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "kappa server --max-request-bytes") {
		t.Errorf("client: %v", err)
	}
	jobs, err := c.ListJobs(context.Background(), &wire.ListJobsRequest{})
	if err != nil || len(jobs.GetJobs()) != 0 {
		t.Fatalf("refused submits left jobs: %v %v", jobs, err)
	}
	// A valid submit still goes through.
	if _, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "limits", RequestId: 99, ProgramBundle: good,
		EventJson: []byte(`{"n": 1}`), ProgramHash: checkpoint.BundleHash(good)}); err != nil {
		t.Fatal(err)
	}
}

// A worker that breaks the limits it was handed is refused, and one that
// keeps them stores a large result by key, which JobResult serves.
func TestCallLimitsAndStoredResults(t *testing.T) {
	big := `"` + strings.Repeat("r", 300<<10) + `"`
	var mu sync.Mutex
	got := map[string]error{}
	var store checkpoint.Store // the node's, set before the job starts
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		g := w.claim()
		if l := g.GetLimits(); l.GetInlineValueBytes() != 64<<10 || l.GetInlineResultBytes() != 256<<10 || l.GetResultBytes() != 64<<20 || l.GetCallInlineBytes() != 2<<20 {
			t.Errorf("claim limits %v", l)
		}
		try := func(what string, req *wire.CallRequest) {
			_, err := w.call(req)
			mu.Lock()
			got[what] = err
			mu.Unlock()
		}
		inline := func(n int) *wire.Value { return &wire.Value{Where: &wire.Value_Inline{Inline: make([]byte, n)}} }
		try("item", &wire.CallRequest{Op: &wire.CallRequest_Enqueue{Enqueue: &wire.EnqueueOp{QueueId: 1, Items: []*wire.Value{inline(10), inline(65 << 10)}}}})
		try("start", &wire.CallRequest{Op: &wire.CallRequest_Spawn{Spawn: &wire.SpawnOp{Children: []*wire.ChildSpec{{Start: inline(70 << 10)}}}}})
		try("inline json", &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJson: big}}})
		try("bad key", &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJsonKey: "jobs/j9/t1/e1-s1-json0.val", ResultJsonBytes: 10}}})
		try("huge stored", &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{
			ResultJsonKey: checkpoint.ValueKey(w.spec.Job, 1, w.spec.Epoch, w.seq+1, "json", 0), ResultJsonBytes: 65 << 20}}})
		// Keeping the limits: the result JSON goes to the store, sealed.
		seq := w.seq + 1
		key := checkpoint.ValueKey(w.spec.Job, 1, w.spec.Epoch, seq, checkpoint.ResultJSONValue, 0)
		var jobKey []byte
		for _, k := range g.GetJobKeys() {
			if k.GetId() == g.GetKeyId() {
				jobKey = k.GetKey()
			}
		}
		blob, err := checkpoint.Seal(g.GetKeyId(), jobKey, checkpoint.Header{Cluster: g.GetClusterId(), Job: w.spec.Job, Task: 1,
			Epoch: w.spec.Epoch, Seq: seq, Kind: checkpoint.ResultJSONValue, Program: g.GetProgramHash()}, []byte(big))
		if err == nil {
			err = store.Put(context.Background(), key, blob)
		}
		if err != nil {
			t.Error(err)
		}
		w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJsonKey: key, ResultJsonBytes: uint64(len(big))}}})
		return lambda.OK
	}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	store = n.cfg.Store
	c := clientFor(t, n)
	st := awaitJob(t, c, submit(t, c, okProgram), 20*time.Second)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || !st.GetResultStored() || st.GetResultJson() != "" || st.GetResultBytes() != uint64(len(big)) {
		t.Fatalf("job %v", st)
	}
	for what, want := range map[string]string{
		"item":        "queue item 1 is 65KiB; the limit is 64KiB (kappa server --max-inline-value-bytes)",
		"start":       "child 0's start value is 70KiB; the limit is 64KiB (kappa server --max-inline-value-bytes)",
		"inline json": "the job's result JSON is 300.0KiB (307202 bytes); the limit is 256KiB (kappa server --max-inline-result-bytes)",
		"bad key":     "is not this call's result JSON value",
		"huge stored": "the job's result JSON is 65MiB; the limit is 64MiB (kappa server --max-result-bytes)",
	} {
		if err := got[what]; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", what, err, want)
		}
	}
	if code := status.Code(got["item"]); code != codes.ResourceExhausted {
		t.Errorf("over a limit: %s, want ResourceExhausted", code)
	}
	kc, err := kappaclient.New([]string{n.APIAddr()}, kappaclient.Insecure())
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	result, err := kc.Result(context.Background(), st)
	if err != nil || string(result) != big {
		t.Fatalf("stored result: %d bytes, %v", len(result), err)
	}
	// A listing never carries results.
	jobs, err := c.ListJobs(context.Background(), &wire.ListJobsRequest{})
	if err != nil || jobs.GetJobs()[0].GetResultJson() != "" || !jobs.GetJobs()[0].GetResultStored() {
		t.Fatalf("list: %v %v", jobs, err)
	}
	// Bytes altered in the store are refused, not served.
	key := fmt.Sprintf("jobs/j%d/t1/e1-s1-json0.val", st.GetJobId())
	blob, _ := n.cfg.Store.Get(context.Background(), key)
	blob[len(blob)/2] ^= 1
	n.cfg.Store.Delete(context.Background(), key)
	n.cfg.Store.Put(context.Background(), key, blob)
	if _, err := kc.Result(context.Background(), st); status.Code(err) != codes.DataLoss || !strings.Contains(err.Error(), "integrity check failed") {
		t.Fatalf("tampered result: %v", err)
	}
}

// A failure's error is cut to maxErrorBytes rather than refused: a
// failing task must still fail.
func TestLongErrorsAreCut(t *testing.T) {
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Fail{Fail: &wire.FailOp{Error: strings.Repeat("e", 1<<20)}}})
		return lambda.OK
	}}
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	st := awaitJob(t, c, submit(t, c, okProgram), 20*time.Second)
	if e := st.GetError(); st.GetState() != wire.JobState_JOB_FAILED || len(e) > maxErrorBytes+200 || !strings.HasSuffix(e, "the error was 1048576 bytes, at most 65536 are kept)") {
		t.Fatalf("job %s, error of %d bytes ending %q", st.GetState(), len(e), e[max(0, len(e)-100):])
	}
}

// Until every voter knows command version 2, a result stored by key is
// refused, naming the cause.
func TestStoredResultsWaitForTheClusterVersion(t *testing.T) {
	var got error
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		w.claim()
		_, got = w.call(&wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{
			ResultJsonKey: checkpoint.ValueKey(w.spec.Job, 1, w.spec.Epoch, w.seq+1, "json", 0), ResultJsonBytes: 300 << 10}}})
		w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Fail{Fail: &wire.FailOp{Error: "refused"}}})
		return lambda.OK
	}
	n := testNode(t, inv, t.TempDir(), func(c *Config) { c.MaxCommandVersion = 1 })
	defer n.Close()
	c := clientFor(t, n)
	awaitJob(t, c, submit(t, c, okProgram), 20*time.Second)
	if status.Code(got) != codes.ResourceExhausted || !strings.Contains(got.Error(), "results stored by key need every voter upgraded (the cluster runs command version 1)") {
		t.Fatalf("stored result on a version-1 cluster: %v", got)
	}
}

// The proposer cuts entries at EntryBytes and refuses a command that
// alone is larger, naming the flag.
func TestLogEntriesAreCutByBytes(t *testing.T) {
	var spawnErr error
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		if w.spec.Job != 1 {
			w.mustCall(exitReq("1"))
			return lambda.OK
		}
		var children []*wire.ChildSpec
		for range 40 {
			children = append(children, &wire.ChildSpec{Start: &wire.Value{Where: &wire.Value_Inline{Inline: make([]byte, 16<<10)}}})
		}
		_, spawnErr = w.call(&wire.CallRequest{Op: &wire.CallRequest_Spawn{Spawn: &wire.SpawnOp{Children: children}}})
		w.mustCall(exitReq("1"))
		return lambda.OK
	}}
	limits := func(c *Config) {
		c.Limits = Limits{EntryBytes: 512 << 10, EventBytes: 100 << 10, InlineResultBytes: 64 << 10, InlineValueBytes: 16 << 10}
	}
	n := testNode(t, inv, t.TempDir(), limits)
	defer n.Close()
	c := clientFor(t, n)
	awaitJob(t, c, submit(t, c, okProgram), 20*time.Second)
	if status.Code(spawnErr) != codes.ResourceExhausted || !strings.Contains(spawnErr.Error(), "the limit is 512KiB (kappa server --max-entry-bytes)") {
		t.Fatalf("a 640 KiB spawn: %v", spawnErr)
	}
	// 40 submits of 90 KiB events at once share entries, each at most
	// 512 KiB.
	first, _ := n.logStore.LastIndex()
	var wg sync.WaitGroup
	bundle := nodetest.BundleOf(t, okProgram)
	jobs := make([]uint64, 40)
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "batch", RequestId: uint64(i + 1), ProgramBundle: bundle,
				EventJson: []byte(`"` + strings.Repeat("e", 90<<10) + `"`)})
			if err != nil {
				t.Error(err)
			}
			jobs[i] = res.GetJobId()
		}()
	}
	wg.Wait()
	for _, j := range jobs {
		awaitJob(t, c, j, 30*time.Second) // their workers are done before the node closes
	}
	last, _ := n.logStore.LastIndex()
	var commands, largest int
	for i := first + 1; i <= last; i++ {
		var l raft.Log
		if err := n.logStore.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if l.Type == raft.LogCommand {
			largest = max(largest, len(l.Data))
			commands++
		}
	}
	if largest > 512<<10 || last-first < 8 {
		t.Fatalf("%d entries for 40 submits of 90 KiB, the largest %d bytes: want entries of at most 512 KiB", last-first, largest)
	}
}

func TestEventJSONErrorSaysWhere(t *testing.T) {
	for in, want := range map[string]string{
		`{"a": 1}`:            "",
		``:                    "",
		"{\n\"a\": tru\n}":    "line 2, column 9",
		`[1, 2`:               "line 1, column 6",
		"\"x\"\n\n  {":        "more than one JSON value at line 3, column 3",
		"{\"k\": \"\\q\"}":    "line 1, column 9",
		"\xff":                "line 1, column 1",
		"{\"a\":1}\n{\"b\":2": "line 2, column 1",
	} {
		err := EventJSONError([]byte(in))
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestLimitsThatContradictEachOtherAreRefused(t *testing.T) {
	for _, l := range []Limits{
		{EventBytes: 8 << 20, EntryBytes: 4 << 20},
		{InlineResultBytes: 4 << 20, EntryBytes: 4 << 20},
		{EntryBytes: 64 << 20},
		{InlineResultBytes: 2 << 20, ResultBytes: 1 << 20},
	} {
		l.setDefaults()
		if err := l.check(); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	d := defaultLimits()
	if err := d.check(); err != nil || maxAppendEntries(d.EntryBytes) != 12 {
		t.Fatalf("defaults: %v, %d entries per message", err, maxAppendEntries(d.EntryBytes))
	}
}
