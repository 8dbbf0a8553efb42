package nemesis

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
)

// heal undoes a fault and says what it observably did: result is added
// to the event's detail; missed, when not empty, says why the fault hit
// nothing (a kill of no process, a stop that stopped none).
type heal func() (result, missed string)

func healed(f func()) heal { return func() (string, string) { f(); return "", "" } }

// inject applies one fault and returns what heals it.
func (n *Nemesis) inject(kind string, hold time.Duration) (h heal, detail string, err error) {
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
		var missed []string
		for _, v := range victims {
			if !v.Running() {
				missed = append(missed, v.ID+" was not running")
				continue
			}
			c.Kill(v)
			if v.Running() {
				missed = append(missed, v.ID+" survived SIGKILL")
			}
		}
		return func() (string, string) {
			for _, v := range victims {
				c.Restart(v)
			}
			return "", strings.Join(missed, ", ")
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
		missed := ""
		if !within(time.Second, func() bool { return harness.Stopped(v.PID()) }) {
			missed = v.ID + " did not stop"
		}
		return func() (string, string) { c.Resume(v); return "", missed }, "SIGSTOP " + v.ID, nil
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
		return healed(func() { net.Heal() }), "leader " + l.ID + " → clients and lambdas dropped", nil
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
		return healed(func() { net.Heal() }), detail, nil
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
		return healed(func() { net.Heal() }), "every node: +50ms, 5% loss", nil
	case KillLambdas:
		stop := c.KillLambdasEvery(200*time.Millisecond, 700*time.Millisecond, n.rng.Int63())
		return func() (string, string) {
			k := stop()
			result := fmt.Sprintf("%d killed, %d invocations crashed", k.Killed, k.Crashed)
			switch {
			case k.Killed == 0:
				return result, "no worker was inside an invocation to kill"
			case k.Crashed == 0:
				return result, "the killed workers crashed no invocation"
			}
			return result, ""
		}, "SIGKILL lambda workers inside an invocation", nil
	case PauseLambdas:
		return n.pauseLambdas()
	case RestartRedis:
		if n.Redis == nil {
			return nil, "", fmt.Errorf("the store is not Redis")
		}
		n.Redis.Kill()
		return healed(n.Redis.Restart), "redis-server SIGKILLed", nil
	case TransferLeader:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := c.Client().TransferLeader(ctx, "")
		if err != nil {
			return nil, "", err
		}
		return healed(func() {}), "to " + r.GetLeaderId(), nil
	case Membership:
		return n.membership()
	}
	return nil, "", fmt.Errorf("unknown fault %q", kind)
}

// membership removes a follower, wipes it, and adds it back as a new,
// empty member that catches up by snapshot.
func (n *Nemesis) membership() (heal, string, error) {
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
	return healed(func() {
		c.Restart(v)
		delete(n.removed, v)
	}), "removed " + v.ID + ", wiped, rejoining", nil
}

// pauseLambdas stops some lambda workers inside an invocation and moves
// leadership: the new leader, which is not invoking them, relaunches their
// tasks once their lease runs out, and the stopped workers resume as
// zombies of a superseded epoch (with a lambda timeout longer than the
// hold; with a shorter one the platform kills them at their deadline
// instead). It waits up to 10 s for a worker to be serving.
func (n *Nemesis) pauseLambdas() (heal, string, error) {
	var serving []int
	for deadline := time.Now().Add(10 * time.Second); len(serving) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		w, err := n.C.LambdaWorkers()
		if err != nil {
			return nil, "", err
		}
		serving = w.ServingPIDs
	}
	n.rng.Shuffle(len(serving), func(i, j int) { serving[i], serving[j] = serving[j], serving[i] })
	serving = serving[:min(len(serving), 4)]
	var stopped []int
	for _, pid := range serving {
		if syscall.Kill(pid, syscall.SIGSTOP) == nil && within(time.Second, func() bool { return harness.Stopped(pid) }) {
			stopped = append(stopped, pid)
		}
	}
	missed := ""
	if len(stopped) == 0 {
		missed = fmt.Sprintf("no worker inside an invocation stopped (serving: %v)", serving)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := n.C.Client().TransferLeader(ctx, "")
	to := r.GetLeaderId()
	if err != nil {
		to = "(transfer failed: " + err.Error() + ")"
	}
	return func() (string, string) {
		for _, pid := range stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
		return "", missed
	}, fmt.Sprintf("SIGSTOP workers %v, leader to %s", stopped, to), nil
}

// within polls ok until it holds or d passes (a signal takes effect when
// its target is next scheduled).
func within(d time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
