package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

// localCluster runs N `kappa server` processes of this binary on
// 127.0.0.1, each with its own data dir, sharing one directory store:
// `kappa dev-cluster` and `kappa bench` are built on it.
type localCluster struct {
	dir    string
	lambda string // Invoke API URL handed to every server
	extra  []string
	nodes  []*localNode
	procs  []*exec.Cmd // helper processes (lambda-local)
}

type localNode struct {
	id, api, raft, dataDir string
	cmd                    *exec.Cmd
	args                   []string
}

// startLocalCluster starts the servers; ports come from basePort (node i:
// API base+i, Raft base+100+i) or, with basePort 0, are picked free.
func startLocalCluster(dir string, nodes, basePort int, lambdaURL string, extra ...string) (*localCluster, error) {
	c := &localCluster{dir: dir, lambda: lambdaURL, extra: extra}
	for i := 1; i <= nodes; i++ {
		n := &localNode{id: fmt.Sprintf("n%d", i), dataDir: filepath.Join(dir, fmt.Sprintf("n%d", i))}
		if basePort > 0 {
			n.api, n.raft = fmt.Sprintf("127.0.0.1:%d", basePort+i), fmt.Sprintf("127.0.0.1:%d", basePort+100+i)
		} else {
			n.api, n.raft = freePort(), freePort()
		}
		c.nodes = append(c.nodes, n)
	}
	for i, n := range c.nodes {
		n.args = []string{"server", "--node-id", n.id, "--data-dir", n.dataDir, "--raft-addr", n.raft, "--api-addr", n.api,
			"--store", "file://" + filepath.Join(dir, "store"), "--lambda", lambdaURL}
		if i == 0 {
			n.args = append(n.args, "--bootstrap")
		} else {
			n.args = append(n.args, "--join", c.nodes[0].api)
		}
		n.args = append(n.args, extra...)
		if err := c.startNode(n); err != nil {
			c.stop()
			return nil, err
		}
		if i == 0 {
			if err := c.waitLeader(30 * time.Second); err != nil {
				c.stop()
				return nil, err
			}
		}
	}
	return c, nil
}

// spawn starts a helper process of this binary with its log in dir.
func (c *localCluster) spawn(name string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(c.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := exec.Command(self, args...)
	p.Stdout, p.Stderr = log, log
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.Wait(); log.Close() }()
	return p, nil
}

func (c *localCluster) startNode(n *localNode) error {
	p, err := c.spawn(n.id, n.args...)
	if err != nil {
		return err
	}
	n.cmd = p
	return nil
}

func (c *localCluster) addrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.api)
	}
	return out
}

// kill SIGKILLs a node; restart starts it again from its data dir.
func (c *localCluster) kill(n *localNode) {
	if n.cmd != nil {
		pid := n.cmd.Process.Pid
		syscall.Kill(-pid, syscall.SIGKILL)
		// The spawning goroutine reaps it; wait until it is gone.
		for i := 0; i < 500 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (c *localCluster) restart(n *localNode) error {
	c.kill(n)
	return c.startNode(n)
}

// leader asks every node who leads and returns the node that says it does.
func (c *localCluster) leader() *localNode {
	for _, n := range c.nodes {
		cl, err := kappaclient.New([]string{n.api})
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		st, err := cl.Status(ctx, n.api)
		cancel()
		cl.Close()
		if err == nil && strings.EqualFold(st.GetRaftState(), "leader") {
			return n
		}
	}
	return nil
}

func (c *localCluster) waitLeader(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c.leader() != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no leader after %s (logs in %s)", limit, c.dir)
}

// stop ends every process: SIGTERM, then SIGKILL after a grace period.
func (c *localCluster) stop() {
	var all []*exec.Cmd
	for _, n := range c.nodes {
		if n.cmd != nil {
			all = append(all, n.cmd)
		}
	}
	all = append(all, c.procs...)
	for _, p := range all {
		syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range all {
		for time.Now().Before(deadline) && syscall.Kill(p.Process.Pid, 0) == nil {
			time.Sleep(20 * time.Millisecond)
		}
		syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
	}
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("no free port: " + err.Error())
	}
	defer l.Close()
	return l.Addr().String()
}
