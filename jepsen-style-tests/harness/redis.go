package harness

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/proccluster"
)

// Redis is a redis-server a test started: durable (appendonly, fsync on
// every write), on a free port, with its data in a temp dir.
type Redis struct {
	IP   string
	Port int
	Dir  string
	proc *proccluster.Process
	t    testing.TB
}

// StartRedis starts a redis-server, or skips the test when none is
// installed (CI installs one). It is killed at cleanup.
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	return StartRedisOn(t, "127.0.0.1", extra...)
}

// StartRedisOn is StartRedis listening on ip (a Network's HostIP).
func StartRedisOn(t testing.TB, ip string, extra ...string) *Redis {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts redis-server")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	addr := freeAddr(t, ip)
	var port int
	fmt.Sscanf(addr[len(ip)+1:], "%d", &port)
	dir := t.TempDir()
	// Protected mode refuses clients from non-loopback addresses without a
	// password; the bridge address of a test network is one.
	args := append([]string{"--bind", ip, "--protected-mode", "no", "--port", fmt.Sprint(port), "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "always"}, extra...)
	r := &Redis{IP: ip, Port: port, Dir: dir, t: t, proc: proccluster.NewProcess("redis-server", bin, args, filepath.Join(dir, "redis.log"))}
	r.Restart()
	t.Cleanup(r.Kill)
	return r
}

// URL is the store URL of this server.
func (r *Redis) URL() string { return fmt.Sprintf("redis://%s:%d/0", r.IP, r.Port) }

// Kill SIGKILLs the server (its append-only file keeps every write).
func (r *Redis) Kill() { r.proc.Kill() }

// Restart starts the server again on the same port and data dir.
func (r *Redis) Restart() {
	r.t.Helper()
	r.proc.Kill()
	if err := r.proc.Start(); err != nil {
		r.t.Fatal(err)
	}
	waitListening(r.t, fmt.Sprintf("%s:%d", r.IP, r.Port), 10*time.Second)
}
