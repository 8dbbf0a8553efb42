package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// streamGrace bounds how long teardown waits for the output pipes to reach
// EOF after the worker died: a grandchild that left the process group may
// hold them open forever.
const streamGrace = 2 * time.Second

// worker is one Python worker process and the goroutines that serve its pipes.
type worker struct {
	pid      int
	cmd      *exec.Cmd
	requests *os.File // fd 3 of the worker, our write end
	logs     *logRouter

	responses chan response // from readResponses; closed when fd 4 ends
	exited    chan struct{} // closed once the process has been reaped
	exitErr   error         // valid after exited is closed

	readEnds  []*os.File // fd 4, stdout and stderr read ends, closed at teardown
	streams   sync.WaitGroup
	goroutine sync.WaitGroup
	gone      chan struct{} // closed at teardown, releases readResponses
	teardown  sync.Once
}

// initError is the handler's import failure, reported like Lambda does: as a
// function error of the invocation that triggered the cold start.
type initError struct{ payload json.RawMessage }

func (e *initError) Error() string { return "handler init failed: " + errorSummary(e.payload) }

// The pipes of a worker, by the role of the child's end.
const (
	pipeRequests  = iota // child reads fd 3
	pipeResponses        // child writes fd 4
	pipeStdout
	pipeStderr
	pipeCount
)

// startWorker launches a worker whose start-up output is attributed to log.
func startWorker(cfg *Config, log *invocationLog) (*worker, error) {
	var rd, wr [pipeCount]*os.File
	for i := range pipeCount {
		var err error
		if rd[i], wr[i], err = os.Pipe(); err != nil {
			closeFiles(rd[:i]...)
			closeFiles(wr[:i]...)
			return nil, fmt.Errorf("local lambda: start worker: %w", err)
		}
	}
	cmd := exec.Command(cfg.Python, "-m", workerModule, "--handler", cfg.Handler)
	cmd.Dir = cfg.Dir
	cmd.Env = cfg.workerEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = wr[pipeStdout], wr[pipeStderr]
	cmd.ExtraFiles = []*os.File{rd[pipeRequests], wr[pipeResponses]} // fd 3, fd 4
	cmd.SysProcAttr = workerProcAttr()
	err := cmd.Start()
	// The child holds its own copies of its ends now; keeping ours would
	// hide its EOFs.
	closeFiles(rd[pipeRequests], wr[pipeResponses], wr[pipeStdout], wr[pipeStderr])
	if err != nil {
		closeFiles(wr[pipeRequests], rd[pipeResponses], rd[pipeStdout], rd[pipeStderr])
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, exec.ErrNotFound) {
			return nil, cannotExec(cfg.Python, err) // the function's configuration, not the platform
		}
		return nil, fmt.Errorf("local lambda: start worker: %w", err)
	}
	if err := limitMemory(cmd.Process.Pid, cfg.MemoryMB); err != nil {
		cfg.Logger.Warn("local lambda: cannot limit the worker's memory; it runs without a limit",
			"pid", cmd.Process.Pid, "memory_mb", cfg.MemoryMB, "err", err)
	}

	w := &worker{
		pid:       cmd.Process.Pid,
		cmd:       cmd,
		requests:  wr[pipeRequests],
		logs:      &logRouter{sink: cfg.LogSink},
		responses: make(chan response),
		exited:    make(chan struct{}),
		readEnds:  []*os.File{rd[pipeResponses], rd[pipeStdout], rd[pipeStderr]},
		gone:      make(chan struct{}),
	}
	w.logs.begin(log)
	w.goroutine.Add(2)
	w.streams.Add(2)
	for stream, r := range []*os.File{rd[pipeStdout], rd[pipeStderr]} {
		go func() {
			defer w.streams.Done()
			w.logs.readStream(stream, r)
		}()
	}
	go w.readResponses(rd[pipeResponses])
	go w.wait()
	return w, nil
}

func closeFiles(files ...*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func (w *worker) wait() {
	defer w.goroutine.Done()
	w.exitErr = w.cmd.Wait()
	close(w.exited)
}

// readResponses decodes fd 4 until it ends. A message no one receives (the
// worker is being torn down) is dropped.
func (w *worker) readResponses(r *os.File) {
	defer w.goroutine.Done()
	defer close(w.responses)
	for {
		frame, err := readFrame(r)
		if err != nil {
			return
		}
		var msg response
		if err := json.Unmarshal(frame, &msg); err != nil {
			msg = response{invalid: err}
		}
		select {
		case w.responses <- msg:
		case <-w.gone:
			return
		}
	}
}

// awaitReady waits for the ready message of a cold start. A worker that
// cannot get there is a *startFailure (python names its interpreter).
func (w *worker) awaitReady(ctx context.Context, closing <-chan struct{}, python string, limit time.Duration, log *invocationLog) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	responses := w.responses
	for {
		select {
		case msg, ok := <-responses:
			switch {
			case !ok:
				responses = nil // fd 4 closed: the exit (or the limit) follows
			case msg.invalid != nil:
				return stuckBeforeReady("worker protocol error before ready: "+msg.invalid.Error(), "")
			case msg.Type == msgReady:
				return nil
			case msg.Type == msgInitError:
				return &initError{payload: msg.Error}
			default:
				return stuckBeforeReady(fmt.Sprintf("worker protocol error: unexpected %q message before ready", msg.Type), "")
			}
		case <-w.exited:
			if isClosing(closing) {
				return ErrClosed
			}
			return exitedBeforeReady(python, w.exitErr, w.drainedTail(log))
		case <-timer.C:
			return stuckBeforeReady(fmt.Sprintf("the worker (interpreter %s) sent no ready message within %v (start-up limit)", python, limit), w.drainedTail(log))
		case <-ctx.Done():
			return ctx.Err()
		case <-closing:
			return ErrClosed
		}
	}
}

// drainedTail waits (boundedly) for the output of a dead or dying worker and
// returns its last line.
func (w *worker) drainedTail(log *invocationLog) string {
	w.kill()
	waitDrained(log)
	return log.lastLine()
}

// kill sends SIGKILL to the worker's whole process group. Safe to repeat.
func (w *worker) kill() {
	_ = syscall.Kill(-w.pid, syscall.SIGKILL)
}

// stop ends an idle worker: EOF on fd 3 lets it exit cleanly; it is killed if
// it lingers past grace.
func (w *worker) stop(grace time.Duration) {
	w.requests.Close()
	select {
	case <-w.exited:
	case <-time.After(grace):
	}
	w.destroy()
}

// destroy kills the process group (children that outlived a cleanly exited
// leader included), reaps the worker and ends every goroutine serving it.
// Later calls wait for the first to finish.
func (w *worker) destroy() {
	w.teardown.Do(func() {
		w.kill()
		<-w.exited
		w.requests.Close()
		streamsDone := make(chan struct{})
		go func() { w.streams.Wait(); close(streamsDone) }()
		select {
		case <-streamsDone:
		case <-time.After(streamGrace):
		}
		close(w.gone)
		closeFiles(w.readEnds...) // unblocks readers held by an escaped grandchild
		<-streamsDone
		w.goroutine.Wait()
	})
}

// alive reports whether the process has not exited yet.
func (w *worker) alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

// exitReason renders how a process ended, e.g. "signal: killed" or "exit status 3".
func exitReason(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
