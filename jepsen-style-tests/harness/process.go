package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is one child process with its output in a log file under the
// cluster's directory (kept when a test fails, for the post-mortem).
type Process struct {
	name string
	bin  string
	args []string
	log  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

func (c *Cluster) spawn(name string, args ...string) *Process {
	p := &Process{name: name, bin: c.bin, args: args, log: filepath.Join(c.dir, name+".log")}
	if err := p.start(); err != nil {
		c.t.Fatalf("starting %s: %v", name, err)
	}
	return p
}

func (p *Process) start() error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n==== %s: %s %v\n", time.Now().Format(time.RFC3339Nano), p.bin, p.args)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so a kill takes its children along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(exited) }()
	p.mu.Lock()
	p.cmd, p.exited, p.paused = cmd, exited, false
	p.mu.Unlock()
	return nil
}

// pid is the process's PID while it runs (0 otherwise).
func (p *Process) pid() int {
	if !p.running() {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

func (p *Process) running() bool {
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

// kill sends SIGKILL to the process group and waits for the exit.
func (p *Process) kill() {
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

func (p *Process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	p.paused = sig == syscall.SIGSTOP
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Kill SIGKILLs a node.
func (c *Cluster) Kill(n *Node) { n.proc.kill() }

// Restart starts a killed node again from its data dir (it rejoins by
// itself: a node with Raft state needs no --join).
func (c *Cluster) Restart(n *Node) {
	c.t.Helper()
	n.proc.kill()
	n.proc.bin, n.proc.args = c.command(n)
	if err := n.proc.start(); err != nil {
		c.t.Fatalf("restarting %s: %v", n.ID, err)
	}
	waitListening(c.t, n.APIAddr, 30*time.Second)
}

// Pause freezes a node (SIGSTOP); Resume continues it (SIGCONT).
func (c *Cluster) Pause(n *Node) {
	if err := n.proc.signal(syscall.SIGSTOP); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) Resume(n *Node) {
	if err := n.proc.signal(syscall.SIGCONT); err != nil {
		c.t.Fatal(err)
	}
}

// Wipe kills a node and deletes its data dir; Restart then makes it join
// again as a new, empty member (it catches up by snapshot).
func (c *Cluster) Wipe(n *Node) {
	c.t.Helper()
	n.proc.kill()
	if err := os.RemoveAll(n.DataDir); err != nil {
		c.t.Fatal(err)
	}
	// An empty node must join; it must never bootstrap a second cluster.
	for _, other := range c.Nodes {
		if other != n {
			n.joinAddr = other.APIAddr
			break
		}
	}
}

// Log returns a node's log so far (for assertions and post-mortems).
func (c *Cluster) Log(n *Node) string {
	b, _ := os.ReadFile(n.proc.log)
	return string(b)
}

// RunKappa runs the kappa binary to its end (or kills it after limit) and
// returns its combined output and exit code (-1 if it had to be killed).
func RunKappa(t testing.TB, limit time.Duration, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return out.String(), cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return out.String(), -1
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// FreeAddr picks a free port on ip (for processes a test starts itself).
func FreeAddr(t testing.TB, ip string) string { return freeAddr(t, ip) }

// Running says whether the node's process is alive (paused counts).
func (n *Node) Running() bool { return n.proc.running() }

// Paused says whether the node is stopped by Pause.
func (n *Node) Paused() bool {
	n.proc.mu.Lock()
	defer n.proc.mu.Unlock()
	return n.proc.paused
}
