package proccluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Status asks one node about itself, giving up after limit.
func (c *Cluster) Status(n *Node, limit time.Duration) (*wire.ClusterStatusResponse, error) {
	cl, err := kappaclient.New([]string{n.APIAddr}, c.ClientOptions()...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return cl.Status(ctx, n.APIAddr)
}

// Leader is the running node that reports itself leader now (nil if none).
func (c *Cluster) Leader() *Node {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		st, err := c.Status(n, 500*time.Millisecond)
		if err == nil && strings.EqualFold(st.GetRaftState(), "leader") {
			return n
		}
	}
	return nil
}

// WaitLeader waits until some node reports itself leader and returns it.
func (c *Cluster) WaitLeader(limit time.Duration) (*Node, error) {
	var leader *Node
	if poll(limit, 50*time.Millisecond, func() bool { leader = c.Leader(); return leader != nil }) != nil {
		return nil, fmt.Errorf("no leader after %s (logs in %s)", limit, c.opts.Dir)
	}
	return leader, nil
}

// WaitMembers waits until the leader lists n voters that have an API
// address.
func (c *Cluster) WaitMembers(n int, limit time.Duration) error {
	err := poll(limit, 100*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := c.client.Members(ctx)
		cancel()
		if err != nil {
			return false
		}
		voters := 0
		for _, mem := range m.GetMembers() {
			if mem.GetVoter() && mem.GetApiAddr() != "" {
				voters++
			}
		}
		return voters == n
	})
	if err != nil {
		return fmt.Errorf("the cluster did not reach %d voters in %s (logs in %s)", n, limit, c.opts.Dir)
	}
	return nil
}

// WaitCaughtUp waits until n follows a leader and has applied everything
// the cluster had committed when the wait began (after a restart).
func (c *Cluster) WaitCaughtUp(n *Node, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	leader, err := c.WaitLeader(limit)
	if err != nil {
		return err
	}
	st, err := c.Status(leader, 2*time.Second)
	if err != nil {
		return fmt.Errorf("asking the leader %s: %w", leader.ID, err)
	}
	target := st.GetCommitIndex()
	err = poll(time.Until(deadline), 50*time.Millisecond, func() bool {
		st, err := c.Status(n, time.Second)
		return err == nil && st.GetLeaderId() != "" && st.GetAppliedIndex() >= target
	})
	if err != nil {
		return fmt.Errorf("%s did not catch up to index %d within %s (log: %s)", n.ID, target, limit, n.proc.LogPath())
	}
	return nil
}
