package nemesis

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
)

// inject applies one fault and returns what heals it.
func (n *Nemesis) inject(kind string, hold time.Duration) (heal func(), detail string, err error) {
	c := n.C
	net := c.Net()
	switch kind {
	case KillLeader, KillRandom, KillMajority, KillAll:
		var victims []*harness.Node
		switch kind {
		case KillLeader:
			l, err := n.leader()
			if err != nil {
				return nil, "", err
			}
			victims = []*harness.Node{l}
		case KillRandom:
			victims = []*harness.Node{n.pick(n.live())}
		case KillAll:
			victims = n.live()
		default:
			live := n.live()
			n.rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
			victims = live[:len(live)/2+1]
		}
		for _, v := range victims {
			c.Kill(v)
		}
		return func() {
			for _, v := range victims {
				c.Restart(v)
			}
		}, "SIGKILL " + ids(victims), nil
	case PauseLeader, PauseFollower:
		l, err := n.leader()
		if err != nil {
			return nil, "", err
		}
		v := l
		if kind == PauseFollower {
			v = n.pick(n.followers(l))
		}
		c.Pause(v)
		return func() { c.Resume(v) }, "SIGSTOP " + v.ID, nil
	case PartitionClients:
		if net == nil {
			return nil, "", fmt.Errorf("no fault-injecting network")
		}
		l, err := n.leader()
		if err != nil {
			return nil, "", err
		}
		if err := net.Block(l.Index, harness.Host); err != nil {
			return nil, "", err
		}
		return func() { net.Heal() }, "leader " + l.ID + " → clients and lambdas dropped", nil
	case PartitionLeader, PartitionMajority, PartitionBridge, OneWay:
		if net == nil {
			return nil, "", fmt.Errorf("no fault-injecting network")
		}
		l, err := n.leader()
		if err != nil {
			return nil, "", err
		}
		rest := n.followers(l)
		n.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		switch kind {
		case PartitionLeader:
			err = harness.Partition(net, indexes([]*harness.Node{l}), indexes(rest))
			detail = fmt.Sprintf("leader %s | %s", l.ID, ids(rest))
		case PartitionMajority:
			// The leader lands in the minority half: the majority must elect.
			all := append([]*harness.Node{l}, rest...)
			minority, majority := all[:len(all)/2], all[len(all)/2:]
			err = harness.Partition(net, indexes(minority), indexes(majority))
			detail = fmt.Sprintf("%s | %s", ids(minority), ids(majority))
		case PartitionBridge:
			// The leader sees both halves; the halves do not see each other.
			half := len(rest) / 2
			err = harness.Partition(net, indexes(rest[:half]), indexes(rest[half:]))
			detail = fmt.Sprintf("%s | %s, bridged by leader %s", ids(rest[:half]), ids(rest[half:]), l.ID)
		case OneWay:
			for _, f := range rest {
				if err == nil {
					err = net.Block(l.Index, f.Index)
				}
			}
			detail = fmt.Sprintf("leader %s → %s dropped", l.ID, ids(rest))
		}
		if err != nil {
			net.Heal()
			return nil, detail, err
		}
		return func() { net.Heal() }, detail, nil
	case SlowNet:
		if net == nil {
			return nil, "", fmt.Errorf("no fault-injecting network")
		}
		for _, nd := range n.live() {
			if err := net.Slow(nd.Index, 50*time.Millisecond, 0.05); err != nil {
				net.Heal()
				return nil, "", err
			}
		}
		return func() { net.Heal() }, "every node: +50ms, 5% loss", nil
	case KillLambdas:
		stop := c.KillLambdasEvery(200*time.Millisecond, 700*time.Millisecond, n.rng.Int63())
		killed := 0
		return func() { killed = stop(); n.Log("          kill-lambdas       %d workers SIGKILLed", killed) }, "SIGKILL random lambda workers", nil
	case PauseLambdas:
		return n.pauseLambdas()
	case RestartRedis:
		if n.Redis == nil {
			return nil, "", fmt.Errorf("the store is not Redis")
		}
		n.Redis.Kill()
		return func() { n.Redis.Restart() }, "redis-server SIGKILLed", nil
	case TransferLeader:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		to, err := c.Client().TransferLeader(ctx, "")
		if err != nil {
			return nil, "", err
		}
		return func() {}, "to " + to, nil
	case Membership:
		return n.membership()
	}
	return nil, "", fmt.Errorf("unknown fault %q", kind)
}

// membership removes a follower, wipes it, and adds it back as a new,
// empty member that catches up by snapshot.
func (n *Nemesis) membership() (func(), string, error) {
	c := n.C
	l, err := n.leader()
	if err != nil {
		return nil, "", err
	}
	v := n.pick(n.followers(l))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Client().Remove(ctx, v.ID); err != nil {
		return nil, "", err
	}
	n.removed[v] = true
	c.Wipe(v)
	return func() {
		c.Restart(v)
		delete(n.removed, v)
	}, "removed " + v.ID + ", wiped, rejoining", nil
}

// pauseLambdas stops some lambda workers and moves leadership: the new
// leader, which is not invoking them, relaunches their tasks once their
// lease runs out, and the stopped workers resume as zombies of a superseded
// epoch (with a lambda timeout longer than the hold; with a shorter one the
// platform kills them at their deadline instead).
func (n *Nemesis) pauseLambdas() (func(), string, error) {
	workers := n.C.LambdaWorkers()
	if len(workers) == 0 {
		return nil, "", fmt.Errorf("no lambda worker is running")
	}
	n.rng.Shuffle(len(workers), func(i, j int) { workers[i], workers[j] = workers[j], workers[i] })
	workers = workers[:min(len(workers), 4)]
	var stopped []int
	for _, pid := range workers {
		if syscall.Kill(pid, syscall.SIGSTOP) == nil {
			stopped = append(stopped, pid)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	to, err := n.C.Client().TransferLeader(ctx, "")
	if err != nil {
		to = "(transfer failed: " + err.Error() + ")"
	}
	return func() {
		for _, pid := range stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}, fmt.Sprintf("SIGSTOP workers %v, leader to %s", stopped, to), nil
}
