// Package drill runs a failover drill against a live cluster (`kappa
// drill`): for each fault it submits a canary pipeline, waits until the
// canary's tasks run, makes the cluster inject the fault in itself through
// the drill service, measures the time to a new leader and to every
// running task confirmed by it, and checks the canary's result, its
// external effects, the FSM's audit of its tasks and, at the end, equal
// state hashes on every replica.
package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kappa-serverless/kappa/node/audit"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Fault names, in the order a drill runs them.
const (
	StepDown    = "step-down"
	Transfer    = "transfer"
	KillLambdas = "kill-lambdas"
	PauseLeader = "pause-leader"
	Exit        = "exit"
)

// Faults are every fault a drill knows, in order.
var Faults = []string{StepDown, Transfer, KillLambdas, PauseLeader, Exit}

// what each fault does, for --dry-run and the docs.
var what = map[string]string{
	StepDown:    "the leader hands leadership to a successor it picks (DrillService/InjectFault STEP_DOWN)",
	Transfer:    "leadership is transferred to a named follower (AdminService/TransferLeader)",
	KillLambdas: "the leader ends every running invocation as crashed; relaunches fence the old workers (InjectFault KILL_INVOCATIONS)",
	PauseLeader: "the leader's launch and lease loops stop for --pause (InjectFault PAUSE_LEADER)",
	Exit:        "the leader's process exits with code 75 and its supervisor starts it again; refused if the rest would lose quorum (InjectFault EXIT)",
}

// Options shape a drill.
type Options struct {
	Faults []string
	// NoSupervisor: nothing restarts nodes, so the exit fault is skipped.
	NoSupervisor bool
	// Recovery bounds each wait (new leader, tasks confirmed, node back,
	// canary finished).
	Recovery time.Duration
	// Pause is how long pause-leader stops the leader's loops.
	Pause time.Duration
	// Canary is about how long each canary's leaves run.
	Canary time.Duration
	// ReceiverIP is where the canary's external service listens; the
	// lambdas must reach it.
	ReceiverIP string
	// Progress receives a line per step (nil: none).
	Progress io.Writer
}

// Report is a drill's outcome.
type Report struct {
	Nodes    []string      `json:"nodes"`
	Faults   []FaultResult `json:"faults"`
	Replicas Check         `json:"replicas"`
	Pass     bool          `json:"pass"`
}

// FaultResult is one fault's round.
type FaultResult struct {
	Fault        string `json:"fault"`
	Target       string `json:"target"`
	Job          uint64 `json:"job"`
	LeaderBefore string `json:"leader_before"`
	LeaderAfter  string `json:"leader_after"`
	// NewLeaderMs: from the fault to a new leader with its loops running
	// (-1 when the fault keeps the leader).
	NewLeaderMs int64 `json:"new_leader_ms"`
	// TasksConfirmedMs: from the fault (a pause: its end) to every running
	// task having called the leader.
	TasksConfirmedMs int64 `json:"tasks_confirmed_ms"`
	// NodeBackMs: from the fault to the exited node serving again, caught up.
	NodeBackMs int64    `json:"node_back_ms,omitempty"`
	Result     string   `json:"result"` // PASS, FAIL or SKIP
	Problems   []string `json:"problems,omitempty"`
}

// Check is a named check's outcome.
type Check struct {
	Result string `json:"result"`
	Detail string `json:"detail"`
}

// Plan describes what a drill would do (--dry-run).
func Plan(o Options, members []*wire.Member) string {
	var b strings.Builder
	leader := ""
	var ids []string
	for _, m := range members {
		ids = append(ids, m.GetNodeId())
		if m.GetLeader() {
			leader = m.GetNodeId()
		}
	}
	fmt.Fprintf(&b, "kappa drill would drill the cluster %v (leader now: %s):\n", ids, orNone(leader))
	fmt.Fprintf(&b, "- start a receiver for the canary's external calls on %s\n", o.ReceiverIP)
	for i, f := range o.Faults {
		if f == Exit && o.NoSupervisor {
			fmt.Fprintf(&b, "%d. %s: skipped (--no-supervisor: nothing would start the node again)\n", i+1, f)
			continue
		}
		fmt.Fprintf(&b, "%d. %s: submit a canary (spawn tree, queue, exactly-once external calls), wait until its tasks run, then %s; measure the time to a new leader and to every running task confirmed; check the canary's result, its external effects and the audit of its tasks\n", i+1, f, what[f])
	}
	fmt.Fprintf(&b, "- finally check that every replica has the same state hash at the same applied index\n")
	b.WriteString("Nothing was done (--dry-run).\n")
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// runner holds a drill's state.
type runner struct {
	o      Options
	c      *kappaclient.Client
	nodes  []*wire.Member
	rec    *receiver
	bundle []byte
}

// Run drills the cluster c reaches; ctx bounds the whole drill.
func Run(ctx context.Context, c *kappaclient.Client, o Options) (*Report, error) {
	m, err := c.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the members: %w", err)
	}
	r := &runner{o: o, c: c, nodes: m.GetMembers()}
	if r.bundle, err = canaryBundle(); err != nil {
		return nil, fmt.Errorf("building the canary: %w", err)
	}
	if r.rec, err = startReceiver(o.ReceiverIP); err != nil {
		return nil, err
	}
	defer r.rec.close()
	rep := &Report{Pass: true}
	for _, n := range r.nodes {
		rep.Nodes = append(rep.Nodes, n.GetNodeId())
	}
	for _, f := range o.Faults {
		res := r.round(ctx, f)
		r.progress("%s: %s %s", f, res.Result, strings.Join(res.Problems, "; "))
		rep.Pass = rep.Pass && res.Result != "FAIL"
		rep.Faults = append(rep.Faults, res)
	}
	rep.Replicas = r.replicas(ctx)
	rep.Pass = rep.Pass && rep.Replicas.Result == "PASS"
	return rep, nil
}

func (r *runner) progress(format string, args ...any) {
	if r.o.Progress != nil {
		fmt.Fprintf(r.o.Progress, "drill: "+format+"\n", args...)
	}
}

// round runs one fault with its canary.
func (r *runner) round(ctx context.Context, fault string) FaultResult {
	res := FaultResult{Fault: fault, NewLeaderMs: -1, TasksConfirmedMs: -1}
	fail := func(format string, args ...any) {
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
	}
	if fault == Exit && r.o.NoSupervisor {
		res.Result = "SKIP"
		res.Problems = []string{"--no-supervisor: nothing would start the node again"}
		return res
	}
	steps := max(int(r.o.Canary/(100*time.Millisecond)), 10)
	ev := canaryEvent{Service: r.rec.urlFor(fault), Items: 6, Steps: steps}
	evJSON, _ := json.Marshal(ev)
	sub, err := r.c.Submit(ctx, r.bundle, evJSON, "drill-canary-"+fault, 0)
	if err != nil {
		fail("submitting the canary: %v", err)
		res.Result = "FAIL"
		return res
	}
	res.Job = sub.GetJobId()
	r.progress("%s: canary j%d submitted", fault, res.Job)
	leader, err := r.waitSteady(ctx)
	if err != nil {
		fail("before the fault: %v", err)
		res.Result = "FAIL"
		return res
	}
	res.LeaderBefore, res.LeaderAfter, res.Target = leader.GetNodeId(), leader.GetNodeId(), leader.GetNodeId()
	start := time.Now()
	movesLeader := fault == StepDown || fault == Transfer || fault == Exit
	if err := r.inject(ctx, fault, leader, &res); err != nil {
		fail("injecting %s: %v", fault, err)
	} else {
		r.progress("%s: injected at %s", fault, res.Target)
		if fault == PauseLeader {
			time.Sleep(time.Until(start.Add(r.o.Pause)))
			start = time.Now()
		}
		r.measure(ctx, start, movesLeader, leader, &res, fail)
		if fault == Exit {
			if back, err := r.waitBack(ctx, leader); err != nil {
				fail("exited node %s: %v", leader.GetNodeId(), err)
			} else {
				res.NodeBackMs = back.Sub(start).Milliseconds()
			}
		}
	}
	r.checkCanary(ctx, fault, ev, res.Job, fail)
	res.Result = "PASS"
	if len(res.Problems) > 0 {
		res.Result = "FAIL"
	}
	return res
}

// inject makes the cluster inject fault; the leader is the target but
// for a transfer, whose target is the follower that takes over.
func (r *runner) inject(ctx context.Context, fault string, leader *wire.Member, res *FaultResult) error {
	ictx, cancel := context.WithTimeout(ctx, r.o.Recovery)
	defer cancel()
	var f wire.Fault
	req := &wire.InjectFaultRequest{}
	switch fault {
	case Transfer:
		for _, n := range r.nodes {
			if n.GetNodeId() != leader.GetNodeId() && n.GetVoter() {
				res.Target = n.GetNodeId()
				break
			}
		}
		_, err := r.c.TransferLeader(ictx, res.Target)
		return err
	case StepDown:
		f = wire.Fault_FAULT_STEP_DOWN
	case KillLambdas:
		f = wire.Fault_FAULT_KILL_INVOCATIONS
	case PauseLeader:
		f, req.DurationMs = wire.Fault_FAULT_PAUSE_LEADER, uint32(r.o.Pause.Milliseconds())
	case Exit:
		f = wire.Fault_FAULT_EXIT
	default:
		return fmt.Errorf("unknown fault %q (known: %v)", fault, Faults)
	}
	req.Fault = f
	conn, err := r.c.Conn(leader.GetApiAddr())
	if err != nil {
		return err
	}
	_, err = wire.NewDrillServiceClient(conn).InjectFault(ictx, req)
	return err
}

// probe asks one node for its view; nil when it does not answer.
func (r *runner) probe(ctx context.Context, n *wire.Member) *wire.ProbeResponse {
	conn, err := r.c.Conn(n.GetApiAddr())
	if err != nil {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	p, err := wire.NewDrillServiceClient(conn).Probe(pctx, &wire.ProbeRequest{})
	if err != nil {
		return nil
	}
	return p
}

// leader finds the node that leads with its loops running.
func (r *runner) leader(ctx context.Context) (*wire.Member, *wire.ProbeResponse) {
	for _, n := range r.nodes {
		if p := r.probe(ctx, n); p != nil && p.GetLeader() && p.GetLeaderLoopsReady() {
			return n, p
		}
	}
	return nil, nil
}

// confirmed: every running task called the leader, and some run (a canary
// that is between launches has none yet).
func confirmed(p *wire.ProbeResponse) bool {
	return p.GetLeaderLoopsReady() && p.GetRunning() > 0 && p.GetConfirmed() == p.GetRunning()
}

// waitSteady waits until the canary's tasks run, all confirmed by the leader.
func (r *runner) waitSteady(ctx context.Context) (*wire.Member, error) {
	var last *wire.ProbeResponse
	deadline := time.Now().Add(r.o.Recovery)
	for time.Now().Before(deadline) {
		if n, p := r.leader(ctx); n != nil {
			last = p
			if confirmed(p) && p.GetRunning() >= 3 {
				return n, nil
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("the canary's tasks were not all running and confirmed within %s (last seen: %d running, %d confirmed)",
		r.o.Recovery, last.GetRunning(), last.GetConfirmed())
}

// measure waits for a new leader (when the fault moves leadership) and
// for every running task confirmed by the leader.
func (r *runner) measure(ctx context.Context, start time.Time, movesLeader bool, old *wire.Member, res *FaultResult, fail func(string, ...any)) {
	deadline := start.Add(r.o.Recovery)
	for time.Now().Before(deadline) {
		n, p := r.leader(ctx)
		moved := n != nil && n.GetNodeId() != old.GetNodeId()
		if n != nil && (moved || !movesLeader) {
			res.LeaderAfter = n.GetNodeId()
			if movesLeader && res.NewLeaderMs < 0 {
				res.NewLeaderMs = time.Since(start).Milliseconds()
			}
			if confirmed(p) {
				res.TasksConfirmedMs = time.Since(start).Milliseconds()
				return
			}
			if job, err := r.c.Job(ctx, res.Job, true); err == nil && job.GetState() != wire.JobState_JOB_RUNNING {
				// The canary ended before its tasks could be confirmed.
				res.TasksConfirmedMs = time.Since(start).Milliseconds()
				return
			}
		}
		if sleep(ctx, 25*time.Millisecond) != nil {
			break
		}
	}
	if movesLeader && res.NewLeaderMs < 0 {
		fail("no new leader within %s", r.o.Recovery)
		return
	}
	fail("the running tasks were not all confirmed by leader %s within %s", res.LeaderAfter, r.o.Recovery)
}

// waitBack waits until the exited node serves again and has caught up
// with the leader's commit index.
func (r *runner) waitBack(ctx context.Context, n *wire.Member) (time.Time, error) {
	deadline := time.Now().Add(r.o.Recovery)
	for time.Now().Before(deadline) {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := r.c.Status(sctx, n.GetApiAddr())
		cancel()
		if err == nil && st.GetLeaderId() != "" && st.GetAppliedIndex() > 0 {
			if l, _ := r.leader(ctx); l != nil {
				lctx, cancel := context.WithTimeout(ctx, time.Second)
				ls, err := r.c.Status(lctx, l.GetApiAddr())
				cancel()
				if err == nil && st.GetRaftAppliedIndex() >= ls.GetCommitIndex() {
					return time.Now(), nil
				}
			}
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return time.Time{}, err
		}
	}
	return time.Time{}, fmt.Errorf("not serving and caught up within %s: is a supervisor (systemd, dev-cluster) restarting nodes? If not, drill with --no-supervisor", r.o.Recovery)
}

// checkCanary waits for the canary to finish and checks its result, its
// external effects and the audit of its tasks.
func (r *runner) checkCanary(ctx context.Context, fault string, ev canaryEvent, job uint64, fail func(string, ...any)) {
	wctx, cancel := context.WithTimeout(ctx, r.o.Recovery+r.o.Canary*3)
	defer cancel()
	st, err := r.c.Watch(wctx, job, func(*wire.JobStatus) {})
	switch {
	case err != nil:
		fail("canary j%d did not finish: %v", job, err)
		return
	case st.GetState() != wire.JobState_JOB_SUCCEEDED:
		fail("canary j%d %s: %s", job, strings.TrimPrefix(st.GetState().String(), "JOB_"), st.GetError())
	default:
		if err := ev.check(st.GetResultJson()); err != nil {
			fail("canary j%d result: %v", job, err)
		}
	}
	if err := r.rec.check(fault, ev.Items); err != nil {
		fail("canary j%d: %v", job, err)
	}
	a, err := r.c.Audit(ctx, job)
	if err != nil {
		fail("canary j%d audit: %v", job, err)
		return
	}
	// The first few problems name the break; the rest are alike.
	problems := audit.Check(a)
	for i, p := range problems {
		if i == 3 {
			fail("canary j%d audit: %d more problems", job, len(problems)-i)
			break
		}
		fail("canary j%d audit: %s", job, p)
	}
}

// replicas checks that every replica reaches the same applied index with
// the same state hash.
func (r *runner) replicas(ctx context.Context) Check {
	deadline := time.Now().Add(r.o.Recovery)
	last := ""
	for time.Now().Before(deadline) {
		hashes, indexes := map[string]bool{}, map[uint64]bool{}
		var seen []string
		for _, n := range r.nodes {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := r.c.Status(sctx, n.GetApiAddr())
			cancel()
			if err != nil {
				seen = append(seen, n.GetNodeId()+": unreachable")
				continue
			}
			hashes[st.GetStateHash()], indexes[st.GetAppliedIndex()] = true, true
			seen = append(seen, fmt.Sprintf("%s@%d:%.12s", n.GetNodeId(), st.GetAppliedIndex(), st.GetStateHash()))
		}
		last = strings.Join(seen, " ")
		if len(seen) == len(r.nodes) && len(indexes) == 1 && !strings.Contains(last, "unreachable") {
			if len(hashes) == 1 {
				return Check{Result: "PASS", Detail: last}
			}
			return Check{Result: "FAIL", Detail: "replicas differ at the same applied index: " + last}
		}
		if sleep(ctx, 200*time.Millisecond) != nil {
			break
		}
	}
	return Check{Result: "FAIL", Detail: fmt.Sprintf("replicas did not reach one applied index within %s: %s", r.o.Recovery, last)}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Text renders a report for people.
func (rep *Report) Text(w io.Writer) {
	fmt.Fprintf(w, "drill of %s\n", strings.Join(rep.Nodes, ", "))
	fmt.Fprintf(w, "%-13s %-6s %-8s %-8s %-8s %12s %16s %12s\n", "FAULT", "RESULT", "TARGET", "BEFORE", "AFTER", "NEW LEADER", "TASKS CONFIRMED", "NODE BACK")
	for _, f := range rep.Faults {
		fmt.Fprintf(w, "%-13s %-6s %-8s %-8s %-8s %12s %16s %12s\n", f.Fault, f.Result, dash(f.Target), dash(f.LeaderBefore), dash(f.LeaderAfter),
			ms(f.NewLeaderMs), ms(f.TasksConfirmedMs), ms(f.NodeBackMs-boolMs(f.Fault != Exit)))
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  %s: %s\n", f.Fault, p)
		}
	}
	fmt.Fprintf(w, "replicas      %s  %s\n", rep.Replicas.Result, rep.Replicas.Detail)
	verdict := "PASS"
	if !rep.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "drill: %s\n", verdict)
}

// boolMs is 1 when b: a fault other than exit has no node-back time.
func boolMs(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ms(v int64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%d ms", v)
}
