package local

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// ErrClosed is returned by Invoke once Close has been called.
var ErrClosed = errors.New("local lambda: platform closed")

// idleStopGrace is how long an idle worker may take to exit on EOF before
// it is killed.
const idleStopGrace = 2 * time.Second

// Platform runs invocations in local worker processes.
type Platform struct {
	cfg    Config
	slots  *slots
	pool   *idlePool
	faults *faultDice    // nil unless Config.Faults asks for some
	done   chan struct{} // closed by Close

	mu     sync.Mutex
	closed bool
	live   map[*worker]struct{}
	// serving: workers running an invocation now (ServingPIDs).
	serving map[*worker]struct{}
	stats   Stats
	wg      sync.WaitGroup // in-flight Invoke calls and background stops
}

var _ lambda.Invoker = (*Platform)(nil)

// New checks cfg and returns a platform; workers start on demand.
func New(cfg Config) (*Platform, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Platform{
		cfg:     cfg,
		slots:   newSlots(cfg.Concurrency),
		done:    make(chan struct{}),
		live:    make(map[*worker]struct{}),
		serving: make(map[*worker]struct{}),
	}
	if cfg.Faults.enabled() {
		p.faults = newFaultDice(cfg.Faults)
		cfg.Logger.Warn("local lambda: fault injection on", "duplicate", cfg.Faults.Duplicate,
			"drop", cfg.Faults.Drop, "seed", cfg.Faults.Seed)
	}
	p.pool = newIdlePool(cfg.MaxWarm, cfg.IdleTTL, func(w *worker) {
		p.background(func() { p.stopIdle(w) })
	})
	for range cfg.Provisioned {
		p.background(p.provision)
	}
	return p, nil
}

// provision cold-starts one worker ahead of any invocation and parks it
// warm. A worker that cannot start is only logged here: the invocation
// that would have used it cold-starts its own and reports the failure.
func (p *Platform) provision() {
	w, err := startWorker(&p.cfg, newInvocationLog(""))
	if err != nil {
		p.cfg.Logger.Warn("local lambda: a provisioned worker did not start", "err", err)
		return
	}
	if !p.track(w) {
		w.destroy()
		return
	}
	if err := w.awaitReady(context.Background(), p.done, p.cfg.Python, p.cfg.StartTimeout, newInvocationLog("")); err != nil {
		if !errors.Is(err, ErrClosed) {
			p.cfg.Logger.Warn("local lambda: a provisioned worker did not start", "err", err)
		}
		p.retire(w)
		return
	}
	p.park(w)
}

// Config returns the platform's configuration with defaults filled in.
func (p *Platform) Config() Config { return p.cfg }

// Invoke runs one invocation under a fresh request id. When every
// concurrency slot is taken it waits for one, or fails at once with
// ErrThrottled in Throttle mode.
func (p *Platform) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	return p.InvokeWithID(ctx, lambda.NewRequestID(), inv)
}

// InvokeWithID is Invoke under a request id the caller chose (an API front
// that names an Event invocation before it runs); ids must be unique.
func (p *Platform) InvokeWithID(ctx context.Context, requestID string, inv lambda.Invocation) (lambda.Result, error) {
	return p.invoke(ctx, requestID, inv, p.cfg.Throttle, p.faults != nil)
}

// invoke admits, runs and reports one invocation; injectFaults is false for
// the copies fault injection itself starts, so copies do not multiply.
func (p *Platform) invoke(ctx context.Context, requestID string, inv lambda.Invocation, throttle, injectFaults bool) (lambda.Result, error) {
	payload, err := eventPayload(inv.Payload)
	if err != nil {
		return lambda.Result{}, err
	}
	if !p.enter() {
		return lambda.Result{}, ErrClosed
	}
	defer p.wg.Done()
	if err := p.slots.acquire(ctx, p.done, throttle); err != nil {
		if errors.Is(err, ErrThrottled) {
			p.mu.Lock()
			p.stats.Throttles++
			p.mu.Unlock()
		}
		return lambda.Result{}, err
	}
	defer p.slots.release()
	if injectFaults && p.faults.duplicate() {
		p.deliverAgain(requestID, inv)
	}
	p.addBusy(1)
	defer p.addBusy(-1)

	timeout := inv.Timeout
	if timeout <= 0 {
		timeout = p.cfg.Timeout
	}
	c := call{requestID: requestID, function: inv.Function, payload: payload, timeout: timeout, log: newInvocationLog(requestID)}
	res, err := p.run(ctx, c)
	if err != nil {
		return lambda.Result{}, err
	}
	if injectFaults && p.faults.drop() {
		p.cfg.Logger.Warn("local lambda fault: response dropped", "request_id", requestID, "outcome", res.Outcome.String())
		p.mu.Lock()
		p.stats.Dropped++
		p.mu.Unlock()
		res = dropped(res)
	}
	return res, nil
}

// run executes c on a warm or cold worker.
func (p *Platform) run(ctx context.Context, c call) (lambda.Result, error) {
	w, initDur, err := p.acquireWorker(ctx, c.log)
	var initErr *initError
	var failed *startFailure
	switch {
	case errors.As(err, &initErr):
		res := functionError(initErr.payload)
		res.LogTail = c.log.text()
		return p.finish(res, c, initDur), nil
	case errors.As(err, &failed):
		res := failed.result(c.requestID)
		res.LogTail = c.log.text()
		return p.finish(res, c, initDur), nil
	case err != nil:
		return lambda.Result{}, err
	}
	p.setServing(w, true)
	res, reusable, err := w.invoke(ctx, p.done, c)
	p.setServing(w, false)
	if reusable {
		p.park(w)
	} else {
		p.retire(w) // before returning, so a timed-out worker is really gone
	}
	if err != nil {
		return lambda.Result{}, err
	}
	return p.finish(res, c, initDur), nil
}

// deliverAgain starts a concurrent copy of an invocation (fault injection),
// which lives until it ends or the platform closes.
func (p *Platform) deliverAgain(original string, inv lambda.Invocation) {
	id := lambda.NewRequestID()
	p.cfg.Logger.Warn("local lambda fault: duplicate delivery", "request_id", original, "copy_request_id", id)
	p.mu.Lock()
	p.stats.Duplicates++
	p.mu.Unlock()
	p.background(func() {
		res, err := p.invoke(context.Background(), id, inv, false, false)
		p.cfg.Logger.Info("local lambda fault: duplicate ended", "request_id", original, "copy_request_id", id,
			"outcome", res.Outcome.String(), "err", err)
	})
}

func (p *Platform) finish(res lambda.Result, c call, initDur time.Duration) lambda.Result {
	res.RequestID = c.requestID
	res.ColdStart = initDur > 0
	res.InitDuration = initDur
	p.mu.Lock()
	p.stats.count(res)
	p.mu.Unlock()
	p.cfg.Logger.Debug("local lambda invocation", "request_id", res.RequestID, "function", c.function,
		"outcome", res.Outcome.String(), "cold", res.ColdStart, "duration", res.Duration, "message", res.Message)
	return res
}

// acquireWorker takes a warm worker (initDur 0) or cold-starts one and
// says how long the start took. A cold start's failure to load the handler
// comes back as *initError, a worker that never got that far as
// *startFailure.
func (p *Platform) acquireWorker(ctx context.Context, log *invocationLog) (w *worker, initDur time.Duration, err error) {
	for w = p.pool.take(); w != nil; w = p.pool.take() {
		if w.alive() {
			return w, 0, nil
		}
		p.retire(w) // died while idle (a stray thread, the OOM killer)
	}
	start := time.Now()
	// A cold start is never instantaneous, but keep initDur > 0 regardless:
	// it is how callers tell cold from warm.
	elapsed := func() time.Duration { return max(time.Since(start), time.Nanosecond) }
	w, err = startWorker(&p.cfg, log)
	if err != nil {
		return nil, elapsed(), err
	}
	if !p.track(w) {
		w.destroy()
		return nil, elapsed(), ErrClosed
	}
	if err := w.awaitReady(ctx, p.done, p.cfg.Python, p.cfg.StartTimeout, log); err != nil {
		p.retire(w)
		return nil, elapsed(), err
	}
	p.cfg.Logger.Debug("local lambda worker started", "pid", w.pid)
	return w, elapsed(), nil
}

// park returns a worker that answered to the idle pool, or stops it when
// warm workers are not wanted.
func (p *Platform) park(w *worker) {
	if p.isClosed() || !p.pool.put(w) {
		p.background(func() { p.stopIdle(w) })
	}
}

// background runs f as part of the platform, so Close waits for it. After
// Close it does nothing: Close destroys every live worker itself.
func (p *Platform) background(f func()) {
	if !p.enter() {
		return
	}
	go func() {
		defer p.wg.Done()
		f()
	}()
}

func (p *Platform) stopIdle(w *worker) {
	w.stop(idleStopGrace)
	p.untrack(w)
}

// retire kills and reaps a worker that must not serve again.
func (p *Platform) retire(w *worker) {
	w.destroy()
	p.untrack(w)
}

// Close kills every worker (busy or idle) with its children and waits until
// all are reaped; in-flight invocations return ErrClosed.
func (p *Platform) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	for w := range p.live {
		w.kill()
	}
	p.mu.Unlock()

	p.pool.drain()
	p.wg.Wait()
	p.mu.Lock()
	rest := make([]*worker, 0, len(p.live))
	for w := range p.live {
		rest = append(rest, w)
	}
	p.mu.Unlock()
	for _, w := range rest {
		p.retire(w)
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (p *Platform) Stats() Stats {
	p.mu.Lock()
	s := p.stats
	s.Workers = len(p.live)
	p.mu.Unlock()
	s.Idle = p.pool.len()
	return s
}

// ServingPIDs lists the process ids of the workers running an invocation
// at this moment: what a fault injector kills to crash an invocation (a
// worker in start-up or idle in the warm pool has none to crash).
func (p *Platform) ServingPIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := make([]int, 0, len(p.serving))
	for w := range p.serving {
		pids = append(pids, w.pid)
	}
	sort.Ints(pids)
	return pids
}

func (p *Platform) setServing(w *worker, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.serving[w] = struct{}{}
	} else {
		delete(p.serving, w)
	}
}

// enter registers an in-flight operation unless the platform is closed.
func (p *Platform) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

func (p *Platform) isClosed() bool { return isClosing(p.done) }

func (p *Platform) track(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.live[w] = struct{}{}
	return true
}

func (p *Platform) untrack(w *worker) {
	p.mu.Lock()
	delete(p.live, w)
	p.mu.Unlock()
	p.cfg.Logger.Debug("local lambda worker stopped", "pid", w.pid, "exit", exitReason(w.exitErr))
}

func (p *Platform) addBusy(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Busy += n
	p.stats.PeakBusy = max(p.stats.PeakBusy, p.stats.Busy)
}

func isClosing(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// eventPayload checks the event like Lambda's API does: it must be JSON, and
// an empty one means {}.
func eventPayload(b []byte) (json.RawMessage, error) {
	if len(b) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(b) {
		return nil, errors.New("local lambda: invocation payload is not valid JSON")
	}
	return json.RawMessage(b), nil
}
