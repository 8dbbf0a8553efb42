// Package redistest starts a real redis-server for tests (never a mock):
// on a free loopback port, in a temporary directory, stopped at cleanup.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a running redis-server.
type Server struct {
	Addr string
	cmd  *exec.Cmd
	args []string
	t    testing.TB
}

// Start runs redis-server with durable settings (appendonly yes,
// appendfsync always, noeviction) plus extra "--name value" arguments.
// Tests fail with a clear message when redis-server is not installed.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	return start(t, nil, extra)
}

// StartWithPassword runs a server whose default user needs password,
// given in a config file (mode 0600) so that no command line shows it.
func StartWithPassword(t testing.TB, password string, extra ...string) *Server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "redis.conf")
	if err := os.WriteFile(conf, []byte("requirepass "+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, []string{conf}, extra)
}

func start(t testing.TB, first, extra []string) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts redis-server")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), t: t}
	s.args = append(append(first, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", t.TempDir(),
		"--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction", "--save", ""), extra...)
	s.cmd = exec.Command(bin, s.args...)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.waitUp()
	return s
}

func (s *Server) waitUp() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redis-server did not start on %s (%s)", s.Addr, strings.Join(s.args, " "))
}

// WorkerACL makes the workers' own Redis user as docs/security.md
// ("Secrets") tells operators to: Kappa's keys only, programs read-only,
// the commands a worker sends and nothing else (no CONFIG: CONFIG GET
// requirepass would show the server's password; no KEYS or SCAN).
const WorkerACL = "ACL SETUSER kappa-worker on >WORKER_PASSWORD resetkeys ~jobs/* %R~programs/* resetchannels -@all +get +set +wait"

// AddWorkerUser makes the user of WorkerACL with password, as the default
// user (whose password is adminPassword, "" for none).
func (s *Server) AddWorkerUser(adminPassword, password string) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: adminPassword})
	defer c.Close()
	var args []any
	for _, f := range strings.Fields(strings.Replace(WorkerACL, "WORKER_PASSWORD", password, 1)) {
		args = append(args, f)
	}
	return c.Do(context.Background(), args...).Err()
}

// URL is the store URL for this server.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Stop kills the server (its data dir stays until the test ends).
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart stops the server and starts it again on the same port and
// directory: with appendfsync always, nothing acknowledged is lost.
func (s *Server) Restart() {
	s.Stop()
	s.cmd = exec.Command(s.cmd0(), s.args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.waitUp()
}

func (s *Server) cmd0() string {
	bin, _ := exec.LookPath("redis-server")
	return bin
}
