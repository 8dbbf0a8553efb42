package proccluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one child process in its own process group (so a kill takes
// its children along: a node's on-coordinator tasks, lambda-local's
// workers), its output appended to a log file that outlives it.
type Process struct {
	name string
	bin  string
	args []string
	log  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // how the last run ended, once exited is closed
	paused  bool
}

// NewProcess describes a process; Start runs it.
func NewProcess(name, bin string, args []string, log string) *Process {
	return &Process{name: name, bin: bin, args: args, log: log}
}

// Start runs the process (again, after it ended), with a header line in
// its log naming the command.
func (p *Process) Start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n==== %s: %s %v\n", time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited, p.paused = cmd, exited, false
	p.mu.Unlock()
	return nil
}

// exitedRun is the current run's exit channel (nil before Start).
func (p *Process) exitedRun() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// exitCode is how the last run ended: its exit status, -1 when a signal
// ended it or it still runs.
func (p *Process) exitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	switch {
	case p.waitErr == nil:
		return 0
	case errors.As(p.waitErr, &ee):
		return ee.ExitCode()
	}
	return -1
}

// LogPath is the file the process writes to.
func (p *Process) LogPath() string { return p.log }

// PID is the process's PID while it runs (0 otherwise).
func (p *Process) PID() int {
	if !p.Running() {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running says whether the process is alive (a paused one is).
func (p *Process) Running() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Paused says whether the process was last sent SIGSTOP.
func (p *Process) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// Kill sends SIGKILL to the process group and waits (up to 10 s) for the
// process to exit.
func (p *Process) Kill() {
	if p == nil {
		return
	}
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// Signal sends sig to the process group (SIGSTOP pauses it, SIGCONT
// resumes it).
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	p.paused = sig == syscall.SIGSTOP
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// SignalMain sends sig to the process alone, not its children.
func (p *Process) SignalMain(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

// Terminate sends SIGTERM to the process alone, not its group (as
// systemd's KillMode=mixed does): a node that stops on purpose stops its
// children itself, after letting on-coordinator tasks checkpoint. It waits
// up to limit for the exit and returns how the process ended (nil: exit
// status 0).
func (p *Process) Terminate(limit time.Duration) error {
	if err := p.SignalMain(syscall.SIGTERM); err != nil {
		return fmt.Errorf("%s: SIGTERM: %w", p.name, err)
	}
	return p.Wait(limit)
}

// Wait waits up to limit for the process to exit and returns how it ended
// (nil: exit status 0; an *exec.ExitError carries the code).
func (p *Process) Wait(limit time.Duration) error {
	p.waitExit(limit)
	if p.Running() {
		return fmt.Errorf("%s still runs after %s", p.name, limit)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// waitExit waits until the process ended or limit passed.
func (p *Process) waitExit(limit time.Duration) {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil || limit <= 0 {
		return
	}
	select {
	case <-exited:
	case <-time.After(limit):
	}
}

// FreeLoopback is a free port on 127.0.0.1 for any node (Options.MetricsAddr).
func FreeLoopback(int) (string, error) { return FreeAddr("127.0.0.1") }

// FreeAddr is a free TCP port on ip ("127.0.0.1:40123").
func FreeAddr(ip string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", fmt.Errorf("no free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitListening waits until something accepts TCP connections at addr.
func WaitListening(addr string, limit time.Duration) error {
	err := poll(limit, 50*time.Millisecond, func() bool {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("nothing listens on %s after %s", addr, limit)
	}
	return nil
}

var errTimeout = errors.New("timed out")

// poll calls cond every interval until it holds or limit passes.
func poll(limit, interval time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		time.Sleep(interval)
	}
	return errTimeout
}
