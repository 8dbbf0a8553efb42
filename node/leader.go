package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/lambda"
)

// watchLeadership starts the leader loops when this node wins leadership
// and stops them at once when it loses it.
func (n *Node) watchLeadership(notify <-chan bool) {
	defer n.wg.Done()
	for {
		select {
		case isLeader := <-notify:
			if isLeader {
				n.becomeLeader()
			} else {
				n.stepDown()
			}
		case <-n.done:
			return
		}
	}
}

func (n *Node) becomeLeader() {
	n.stepDown()
	ctx, cancel := context.WithCancel(context.Background())
	// Everything earlier terms committed must be applied before this
	// leader judges any task, so it acts on the whole state.
	if err := n.raft.Barrier(n.cfg.Raft.ApplyTimeout).Error(); err != nil {
		n.log.Warn("leader barrier failed; not starting leader loops", "err", err)
		cancel()
		return
	}
	regCtx, regCancel := context.WithTimeout(ctx, n.cfg.Raft.ApplyTimeout)
	if err := n.registerSelf(regCtx); err != nil {
		n.log.Warn("cannot publish this node in the member table", "err", err)
	}
	if n.soleVoter() {
		// A new cluster uses its build's version (job histories, task
		// credentials and keys from key files among its features) before it
		// launches anything; with other voters, versionWatch asks them first.
		n.raiseClusterVersion(regCtx)
	}
	n.noteLeaderChange(regCtx)
	// Before any launch: tasks claim with keys.
	if err := n.ensureKeys(regCtx); err != nil {
		n.log.Warn("the cluster keeps its previous keys for now", "err", err)
	}
	regCancel()
	// After a restore or a recovery, nothing runs before the new timeline.
	if err := n.startNewTimeline(ctx); err != nil {
		n.log.Warn("not starting leader loops", "err", err)
		cancel()
		return
	}
	n.dead.reset()
	claimed := n.claimedEpochs()
	n.leases.reset(claimed)
	select {
	case <-n.done:
		cancel()
		return
	default:
	}
	n.mu.Lock()
	n.leaderCancel = cancel
	n.mu.Unlock()
	n.log.Info("leader loops started", "running_tasks", len(claimed))
	n.wg.Add(7)
	go func() { defer n.wg.Done(); n.drainWatch(ctx) }()
	go func() { defer n.wg.Done(); n.versionWatch(ctx) }()
	go func() { defer n.wg.Done(); n.storeWatch(ctx) }()
	if n.cfg.DeadServerAfter > 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.cleanupLoop(ctx) }()
	}
	go func() { defer n.wg.Done(); n.launchLoop(ctx) }()
	go func() { defer n.wg.Done(); n.platformWatch(ctx) }()
	go func() { defer n.wg.Done(); n.leaseLoop(ctx) }()
	go func() { defer n.wg.Done(); n.gcLoop(ctx) }()
}

func (n *Node) stepDown() {
	n.mu.Lock()
	cancel := n.leaderCancel
	n.leaderCancel = nil
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		n.log.Info("leader loops stopped")
	}
}

func (n *Node) claimedEpochs() map[fsm.TaskKey]uint64 {
	out := map[fsm.TaskKey]uint64{}
	n.replica.read(func(m *fsm.Machine) {
		for _, k := range m.Claimed() {
			out[k] = m.Task(k).GetEpoch()
		}
	})
	return out
}

// launchLoop launches runnable tasks: it commits Launch(task, epoch+1)
// first, then invokes a lambda, then commits how the invocation ended. At
// most MaxInvocations run at once: a slot is taken before the Launch
// commits, so no task sits launched while it waits for a lambda. Which
// tasks get the free slots is the FSM's fair order (fsm.NextLaunches):
// jobs take turns, so a small job's task starts at the next free slot
// whatever another job queued, and a cycle costs what it launches, not
// what waits.
func (n *Node) launchLoop(ctx context.Context) {
	var mu sync.Mutex
	launching := map[fsm.TaskKey]bool{}
	busy := func(k fsm.TaskKey) bool {
		mu.Lock()
		defer mu.Unlock()
		return launching[k]
	}
	slots := newSlots(n.cfg.MaxInvocations)
	for {
		if !n.drill.waitUnpaused(ctx) {
			return
		}
		changed := n.replica.changed.wait()
		var next []fsm.TaskKey
		if free := slots.available(); free > 0 {
			n.replica.read(func(m *fsm.Machine) { next = m.NextLaunches(free, busy, n.cfg.Quotas.MaxRunningPerJob) })
		}
		for _, k := range next {
			if !slots.take() {
				break
			}
			mu.Lock()
			launching[k] = true
			mu.Unlock()
			go func(k fsm.TaskKey) {
				// The slot is free once the lambda returned, before its
				// end is committed.
				var once sync.Once
				free := func() { once.Do(slots.give) }
				defer free()
				n.launch(ctx, k, func() {
					mu.Lock()
					delete(launching, k)
					mu.Unlock()
				}, free)
			}(k)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-slots.freed:
		case <-time.After(time.Second):
		}
	}
}

// slots bounds the invocations in flight (nil channel: unbounded).
type slots struct {
	free  chan struct{}
	freed chan struct{}
}

func newSlots(n int) *slots {
	s := &slots{freed: make(chan struct{}, 1)}
	if n > 0 {
		s.free = make(chan struct{}, n)
		for i := 0; i < n; i++ {
			s.free <- struct{}{}
		}
	}
	return s
}

// available is how many slots are free now (unbounded: as many as asked).
func (s *slots) available() int {
	if s.free == nil {
		return math.MaxInt32
	}
	return len(s.free)
}

func (s *slots) take() bool {
	if s.free == nil {
		return true
	}
	select {
	case <-s.free:
		return true
	default:
		return false
	}
}

func (s *slots) give() {
	if s.free != nil {
		s.free <- struct{}{}
	}
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// launch runs one invocation of a task. launched is called once the
// Launch has committed (or failed), so the loop may consider the task
// again; returned once the invocation returned.
func (n *Node) launch(ctx context.Context, k fsm.TaskKey, launched, returned func()) {
	var task *pb.Task
	var job *pb.Job
	n.replica.read(func(m *fsm.Machine) { task, job = m.Task(k), m.Job(k.Job) })
	if task == nil || job == nil || task.GetState() != pb.TaskState_TASK_RUNNABLE {
		launched()
		return
	}
	if task.GetOnCoordinator() && n.draining.Load() {
		// Leadership is being handed over: the next leader runs it.
		launched()
		return
	}
	epoch := task.GetEpoch() + 1
	inv := newInvocationID()
	launch := &pb.Launch{JobId: k.Job, TaskId: k.Task, Epoch: epoch, InvocationId: inv}
	// The task secret goes only into the payload; the log gets its hash.
	// An older voter would not apply the hash, so below version 2 the
	// launch has none and the claim rule alone fences the invocation.
	var secret string
	if n.clusterVersion() >= 2 {
		secret, launch.SecretHash = newTaskSecret()
	}
	res, err := n.proposer.propose(ctx, &pb.Command{Op: &pb.Command_Launch{Launch: launch}})
	launched()
	if err != nil || res.GetError() != nil {
		if err == nil {
			err = fmt.Errorf("%s", res.GetError().GetMessage())
		}
		n.log.Debug("launch not committed", "task", k, "epoch", epoch, "err", err)
		return
	}
	n.leases.startInvoking(k, epoch)
	defer n.leases.doneInvoking(k, epoch)
	n.log.Debug("launching", "task", k, "epoch", epoch)
	payload := n.payload(k, epoch, inv, secret, job.GetProgramHash(), n.payloadGrant(k, epoch, inv, secret))
	// A lambda's invocation is not tied to leadership: it cannot be called
	// back, and its calls are fenced by the claim rule if it outlives us.
	// An on-coordinator task is a process of this node: it dies with our
	// leadership and resumes on the next leader.
	invoker, ictx, timeout := n.cfg.Invoker, context.Background(), n.cfg.LambdaTimeout
	onCoordinator := task.GetOnCoordinator() && n.cfg.CoordinatorInvoker != nil
	if onCoordinator {
		invoker, ictx, timeout = n.cfg.CoordinatorInvoker, ctx, 0
	}
	started := time.Now()
	n.metrics.invocationsRunning.Inc()
	r, err := invoker.Invoke(ictx, lambda.Invocation{Function: n.cfg.Function, Payload: payload, Timeout: timeout})
	n.metrics.invocationsRunning.Dec()
	returned()
	if !onCoordinator {
		n.noteInvocation(err)
	}
	outcome, msg := outcomeOf(r, err)
	n.metrics.invocations.WithLabelValues(outcomeName(outcome)).Inc()
	if err == nil {
		n.metrics.invocationDuration.Observe(r.Duration.Seconds())
		if r.ColdStart {
			n.metrics.coldStarts.Inc()
		}
	}
	if outcome == pb.Outcome_OUTCOME_OK {
		n.commitReturnedCall(ctx, k, epoch, inv, r.Payload)
	}
	n.recordInvocation(k, epoch, started, r, outcome, msg)
	n.log.Debug("invocation ended", "task", k, "epoch", epoch, "outcome", outcome, "took", time.Since(started), "ran", r.Duration, "cold", r.ColdStart)
	if outcome != pb.Outcome_OUTCOME_OK {
		n.log.Info("invocation ended abnormally", "task", k, "epoch", epoch, "outcome", outcome, "message", msg)
	}
	// Commit how it ended, unless the task moved on (it exited, yielded or
	// parked: the usual end), which the FSM would ignore: a trivial task
	// then costs its launch and its exit, two log entries, not three.
	matters := true
	n.replica.read(func(m *fsm.Machine) { matters = m.InvocationEndMatters(k.Job, k.Task, epoch, inv) })
	if !matters {
		return
	}
	ended := &pb.Command{Op: &pb.Command_InvocationEnded{InvocationEnded: &pb.InvocationEnded{
		JobId: k.Job, TaskId: k.Task, Epoch: epoch, InvocationId: inv, Outcome: outcome, Message: msg,
	}}}
	if _, err := n.proposer.propose(ctx, ended); err != nil {
		n.log.Debug("invocation end not committed", "task", k, "err", err)
	}
}

func outcomeOf(r lambda.Result, err error) (pb.Outcome, string) {
	if err != nil {
		return pb.Outcome_OUTCOME_NOT_STARTED, err.Error()
	}
	switch r.Outcome {
	case lambda.OK:
		return pb.Outcome_OUTCOME_OK, "the function returned"
	case lambda.FunctionError:
		return pb.Outcome_OUTCOME_FUNCTION_ERROR, r.Message
	case lambda.Timeout:
		return pb.Outcome_OUTCOME_TIMEOUT, r.Message
	default:
		return pb.Outcome_OUTCOME_CRASH, r.Message
	}
}

// leaseLoop relaunches tasks whose worker went silent for a whole lease
// (e.g. launched by a previous leader whose invocation result is lost):
// committing the end of their epoch makes them runnable, and the next
// Launch fences the old worker.
func (n *Node) leaseLoop(ctx context.Context) {
	lease := 3*n.cfg.Worker.HeartbeatInterval + 2*time.Second
	every(ctx, n.cfg.Worker.HeartbeatInterval, func() {
		if !n.drill.waitUnpaused(ctx) {
			return
		}
		claimed := n.claimedEpochs()
		for _, k := range n.leases.expired(claimed, lease) {
			var t *pb.Task
			n.replica.read(func(m *fsm.Machine) { t = m.Task(k) })
			if t == nil || t.GetEpoch() != claimed[k] {
				continue
			}
			n.log.Info("lease expired; relaunching", "task", k, "epoch", t.GetEpoch())
			n.metrics.leases.Inc()
			// Below version 2 an expired lease is told as a crash.
			outcome, msg := pb.Outcome_OUTCOME_CRASH, fmt.Sprintf("lease expired: no heartbeat for %s", lease)
			if n.clusterVersion() >= 2 {
				outcome, msg = pb.Outcome_OUTCOME_LEASE_EXPIRED, fmt.Sprintf("no heartbeat for %s", lease)
			}
			cmd := &pb.Command{Op: &pb.Command_InvocationEnded{InvocationEnded: &pb.InvocationEnded{
				JobId: k.Job, TaskId: k.Task, Epoch: t.GetEpoch(), InvocationId: t.GetInvocationId(),
				Outcome: outcome, Message: msg,
			}}}
			if _, err := n.proposer.propose(ctx, cmd); err != nil {
				n.log.Debug("lease expiry not committed", "task", k, "err", err)
			}
		}
	})
}

// every calls f once per period until ctx ends: the shape of every
// leader-only loop.
func every(ctx context.Context, period time.Duration, f func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		f()
	}
}

// InvocationEvent is the JSON event a worker lambda receives (the Python
// worker parses it in kappa/worker/task.py: Spec).
type InvocationEvent struct {
	Kappa InvocationSpec `json:"kappa"`
}

// InvocationSpec names one invocation of one task and how to reach the
// cluster and the store. TaskSecret is the invocation's credential: the
// worker sends it with every task call (kappa-task-secret), and nothing
// else holds it (the log holds its hash).
type InvocationSpec struct {
	Version     int      `json:"v"`
	Coordinator []string `json:"coordinator"`
	Store       string   `json:"store"`
	Job         uint64   `json:"job"`
	Task        uint64   `json:"task"`
	Epoch       uint64   `json:"epoch"`
	Invocation  string   `json:"invocation"`
	TaskSecret  string   `json:"task_secret,omitempty"`
	Program     string   `json:"program"`
	BusyWaitMs  int64    `json:"busy_wait_ms"`
	HeartbeatMs int64    `json:"heartbeat_ms"`
	AutoPauseMs int64    `json:"auto_pause_ms"`
	// CAPEM is the cluster's CA certificate (public), which the worker
	// trusts for the coordinators' TLS; empty when they serve plaintext.
	CAPEM string `json:"ca_pem,omitempty"`
	// Grant is the deferred claim's grant (a ClaimResponse, protobuf,
	// base64), so the worker need not read it with a Claim: empty when the
	// cluster cannot defer claims or the grant is large (payloadgrant.go).
	Grant string `json:"grant,omitempty"`
}

func (n *Node) payload(k fsm.TaskKey, epoch uint64, inv, secret, program, grant string) []byte {
	b, _ := json.Marshal(InvocationEvent{Kappa: InvocationSpec{
		Version:     1,
		Coordinator: n.workerCoordinators(),
		Store:       n.cfg.WorkerStore,
		Job:         k.Job,
		Task:        k.Task,
		Epoch:       epoch,
		Invocation:  inv,
		TaskSecret:  secret,
		Program:     program,
		BusyWaitMs:  n.cfg.Worker.BusyWait.Milliseconds(),
		HeartbeatMs: n.cfg.Worker.HeartbeatInterval.Milliseconds(),
		AutoPauseMs: n.cfg.Worker.AutoPause.Milliseconds(),
		CAPEM:       n.caPEM(),
		Grant:       grant,
	}})
	return b
}

// caPEM is the CA workers trust, as on disk now ("" without Certs).
func (n *Node) caPEM() string {
	if n.cfg.Certs == nil {
		return ""
	}
	pem, err := n.cfg.Certs.CAPEM()
	if err != nil {
		// The last good CA stays in use; this happens only if none ever loaded.
		n.log.Error("cannot read the CA certificate for workers", "err", err)
	}
	return string(pem)
}

func newInvocationID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("node: no randomness for invocation ids: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
