package jepsen

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/checker"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// recorder collects what the workloads did, for the checkers and report.
type recorder struct {
	mu        sync.Mutex
	ops       map[string]int // "kind/outcome" → count
	jobOps    []checker.JobOp
	queueOps  [][]checker.QueueOp // per pipeline job
	consumed  [][][]checker.Item  // per pipeline job, per consumer
	problems  []string
	jobs      []uint64          // every job whose submit returned
	names     map[uint64]string // the name each was submitted with (unique)
	cancelled map[uint64]bool   // jobs whose cancel was acknowledged
	pipelines int
	effects   int // external-call items submitted so far
	// failedJobs are client jobs that failed by themselves, with why.
	failedJobs map[uint64]string
	// missing: checkpoint keys jobs failed to find; forgotten: jobs the
	// cluster acknowledged and later said do not exist (sets).
	missing   map[string]bool
	forgotten map[uint64]bool
}

func newRecorder() *recorder {
	return &recorder{ops: map[string]int{}, names: map[uint64]string{}, cancelled: map[uint64]bool{},
		failedJobs: map[uint64]string{}, missing: map[string]bool{}, forgotten: map[uint64]bool{}}
}

func (r *recorder) count(kind, outcome string) {
	r.mu.Lock()
	r.ops[kind+"/"+outcome]++
	r.mu.Unlock()
}

func (r *recorder) problem(format string, args ...any) {
	r.mu.Lock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// runPipelines submits pipeline jobs one after another until stop closes,
// waits for each, and checks its result against the fault-free one.
func runPipelines(c *harness.Cluster, bundle []byte, rec *recorder, svc string, stop <-chan struct{}) {
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		ev := pipelineEvent{Items: 10, Steps: 30, Service: svc, FirstEffect: k * 4, Effects: 4}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		name := fmt.Sprintf("pipeline-%d", k)
		sub, err := c.Client().Submit(ctx, bundle, []byte(ev.JSON()), name, 40)
		cancel()
		if err != nil {
			rec.problem("pipeline %d: submit failed: %v", k, err)
			rec.count("pipeline", "submit-failed")
			continue
		}
		job := sub.GetJobId()
		rec.submitted(job, name)
		rec.mu.Lock()
		rec.effects = ev.FirstEffect + ev.Effects
		rec.pipelines++
		rec.mu.Unlock()
		ctx, cancel = context.WithTimeout(context.Background(), 8*time.Minute)
		st, err := c.Client().Watch(ctx, job, func(*wire.JobStatus) {})
		cancel()
		if err != nil {
			rec.notFound(job, err)
			rec.problem("pipeline j%d: watching it: %v", job, err)
			rec.count("pipeline", "unfinished")
			continue
		}
		rec.sameJob(job, st)
		if st.GetState() != wire.JobState_JOB_SUCCEEDED {
			rec.missingKey(st.GetError())
			rec.problem("pipeline j%d %s: %s", job, st.GetState(), firstLine(st.GetError()))
			rec.count("pipeline", "failed")
			continue
		}
		rec.count("pipeline", "succeeded")
		checkPipeline(rec, job, st.GetResultJson(), ev)
	}
}

type logged struct {
	Items  json.RawMessage
	T0, T1 int64
}

func (l *logged) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 3 {
		return fmt.Errorf("a log entry %s is not [value, t0, t1]", b)
	}
	l.Items = raw[0]
	if err := json.Unmarshal(raw[1], &l.T0); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &l.T1)
}

func checkPipeline(rec *recorder, job uint64, resultJSON string, ev pipelineEvent) {
	var r struct {
		Producers [][]logged `json:"producers"`
		Consumers [][]logged `json:"consumers"`
		Tree      int        `json:"tree"`
		Loop      int        `json:"loop"`
		Effects   []int      `json:"effects"`
	}
	if err := json.Unmarshal([]byte(resultJSON), &r); err != nil {
		rec.problem("pipeline j%d: result %.200s: %v", job, resultJSON, err)
		return
	}
	if r.Tree != treeSum {
		rec.problem("pipeline j%d: spawn tree gave %d, the fault-free run %d", job, r.Tree, treeSum)
	}
	if want := loopResult(ev.Steps); r.Loop != want {
		rec.problem("pipeline j%d: checkpoint loop gave %d, the fault-free run %d", job, r.Loop, want)
	}
	for i, v := range r.Effects {
		if v != ev.FirstEffect+i {
			rec.problem("pipeline j%d: external call %d returned %d", job, i, v)
		}
	}
	var ops []checker.QueueOp
	for p, log := range r.Producers {
		for _, e := range log {
			var items [][2]int
			json.Unmarshal(e.Items, &items)
			op := checker.QueueOp{Client: p, Enqueue: true, Call: e.T0, Return: e.T1}
			for _, it := range items {
				op.Items = append(op.Items, checker.Item{P: it[0], N: it[1]})
			}
			ops = append(ops, op)
		}
	}
	var consumed [][]checker.Item
	for c, log := range r.Consumers {
		var got []checker.Item
		for _, e := range log {
			op := checker.QueueOp{Client: len(r.Producers) + c, Call: e.T0, Return: e.T1}
			var it [2]int
			if string(e.Items) != "null" && json.Unmarshal(e.Items, &it) == nil {
				op.Got = &checker.Item{P: it[0], N: it[1]}
				got = append(got, *op.Got)
			}
			ops = append(ops, op)
		}
		consumed = append(consumed, got)
	}
	rec.mu.Lock()
	rec.queueOps = append(rec.queueOps, ops)
	rec.consumed = append(rec.consumed, consumed)
	rec.mu.Unlock()
	for _, op := range ops {
		kind := "dequeue"
		if op.Enqueue {
			kind = "enqueue"
		}
		rec.count(kind, "ok")
	}
}

// runClient is one API client: it submits short jobs and reads and
// cancels them, recording every call with its call and return times.
func runClient(addrs []string, opts []grpc.DialOption, bundle []byte, id int, seed int64, rec *recorder, stop <-chan struct{}) {
	cl, err := kappaclient.New(addrs, opts...)
	if err != nil {
		rec.problem("client %d: %v", id, err)
		return
	}
	defer cl.Close()
	rng := rand.New(rand.NewSource(seed))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		value := rng.Intn(1000)
		want := shortWant(value)
		// Well under the 2 s lambda limit: the job has no pause point.
		ev := fmt.Sprintf(`{"sleep": %.1f, "value": %d}`, 0.2+rng.Float64()*0.7, value)
		call := time.Now().UnixNano()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		name := fmt.Sprintf("client-%d-%d", id, n)
		sub, err := cl.Submit(ctx, bundle, []byte(ev), name, 0)
		cancel()
		if err != nil {
			rec.problem("client %d: submit failed: %v", id, err)
			rec.count(checker.OpSubmit, "ambiguous")
			continue
		}
		job := sub.GetJobId()
		rec.count(checker.OpSubmit, "ok")
		rec.add(checker.JobOp{Client: id, Kind: checker.OpSubmit, Job: job, Want: want, Call: call, Return: time.Now().UnixNano()})
		rec.submitted(job, name)
		cancelAt := -1
		switch {
		case n == 0:
			// Every client cancels its first job at once, so a run on a
			// slow, loaded machine still has cancels to check.
			cancelAt = 0
		case rng.Intn(3) == 0:
			cancelAt = rng.Intn(3)
		}
		for step := 0; ; step++ {
			if step == cancelAt {
				cancelJob(cl, id, job, want, rec)
			}
			if state := readJob(cl, id, job, want, rec); state != "running" && state != "" {
				break
			}
			if step > 200 {
				rec.problem("client %d: j%d still running after %d reads", id, job, step)
				break
			}
			time.Sleep(time.Duration(100+rng.Intn(400)) * time.Millisecond)
		}
	}
}

// failed notes a job that failed by itself (not cancelled): its work is lost.
func (r *recorder) failed(job uint64, why string) {
	r.missingKey(why)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failedJobs[job] = firstLine(why)
}

// checkpointNotFound finds the key in a task's KeyNotFoundError.
var checkpointNotFound = regexp.MustCompile(`KeyNotFoundError: '?(jobs/[\w/.-]+\.ckpt)`)

// missingKey notes the checkpoint key a job's error says was not found.
func (r *recorder) missingKey(jobError string) {
	m := checkpointNotFound.FindAllStringSubmatch(jobError, -1)
	if len(m) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range m {
		r.missing[k[1]] = true
	}
}

// submitted notes an acknowledged submit and the job's unique name.
func (r *recorder) submitted(job uint64, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, job)
	r.names[job] = name
}

// sameJob checks that a read of an acknowledged job shows what was
// acknowledged: the job submitted (a cluster that forgot the submit hands
// its id to the next job submitted), cancelled if a cancel was.
func (r *recorder) sameJob(job uint64, st *wire.JobStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var why string
	switch want := r.names[job]; {
	case want != "" && st.GetName() != want:
		why = fmt.Sprintf("j%d was submitted as %s but reads as %s: the cluster forgot the acknowledged submit and reused its id", job, want, st.GetName())
	case r.cancelled[job] && stateName(st) != "cancelled":
		why = fmt.Sprintf("j%d reads as %s after an acknowledged cancel: the cluster forgot the cancel", job, stateName(st))
	default:
		return
	}
	if !r.forgotten[job] {
		r.problems = append(r.problems, why)
	}
	r.forgotten[job] = true
}

// notFound notes an acknowledged job the cluster answered NotFound for.
func (r *recorder) notFound(job uint64, err error) {
	if status.Code(err) != codes.NotFound {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgotten[job] = true
}

func (r *recorder) missingKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.missing))
}

func (r *recorder) forgottenJobs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.forgotten))
}

func (r *recorder) add(op checker.JobOp) {
	r.mu.Lock()
	r.jobOps = append(r.jobOps, op)
	r.mu.Unlock()
}

// readJob reads a job's status linearizably; "" when the read failed.
func readJob(cl *kappaclient.Client, id int, job uint64, want string, rec *recorder) string {
	op := checker.JobOp{Client: id, Kind: checker.OpStatus, Job: job, Want: want, Call: time.Now().UnixNano()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	st, err := cl.Job(ctx, job, false)
	cancel()
	op.Return = time.Now().UnixNano()
	switch {
	case err == nil:
		op.Outcome = stateName(st)
		rec.sameJob(job, st)
		op.Result = st.GetResultJson()
		if op.Outcome == "failed" {
			rec.failed(job, st.GetError())
		}
	case status.Code(err) == codes.NotFound:
		op.Outcome = "missing"
		rec.notFound(job, err)
	default:
		op.Ambiguous = true
		op.Outcome = "ambiguous"
	}
	rec.count(checker.OpStatus, op.Outcome)
	rec.add(op)
	if op.Ambiguous {
		return ""
	}
	return op.Outcome
}

func cancelJob(cl *kappaclient.Client, id int, job uint64, want string, rec *recorder) {
	op := checker.JobOp{Client: id, Kind: checker.OpCancel, Job: job, Want: want, Call: time.Now().UnixNano()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := cl.Cancel(ctx, job, "jepsen")
	cancel()
	op.Return = time.Now().UnixNano()
	switch {
	case err == nil:
		op.Outcome = "ok"
	case status.Code(err) == codes.FailedPrecondition:
		op.Outcome = "finished"
	default:
		op.Ambiguous = true
		op.Outcome = "ambiguous"
	}
	rec.count(checker.OpCancel, op.Outcome)
	if op.Outcome == "ok" {
		rec.mu.Lock()
		rec.cancelled[job] = true
		rec.mu.Unlock()
	}
	rec.add(op)
}

func stateName(st *wire.JobStatus) string {
	switch st.GetState() {
	case wire.JobState_JOB_RUNNING:
		return "running"
	case wire.JobState_JOB_SUCCEEDED:
		return "succeeded"
	}
	if strings.HasPrefix(st.GetError(), "cancelled:") {
		return "cancelled"
	}
	return "failed"
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }
