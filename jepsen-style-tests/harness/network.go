package harness

import (
	"fmt"
	"os"
	"time"
)

// Network places a cluster's nodes and injects network faults between
// them. Two implementations: NetNS (each node in its own network
// namespace on a bridge, faults by routes and tc) and Proxy (loopback,
// faults by a TCP proxy in front of every node's Raft port). Node indexes
// are 0-based; "host" is every process outside the nodes (lambdas,
// clients, Redis, the effects receiver).
type Network interface {
	// Mode is "netns" or "proxy".
	Mode() string
	// HostIP is the address host-side services listen on so nodes reach them.
	HostIP() string
	// Addrs gives node i's listen addresses and the extra server flags
	// that make peers reach it (and it them) through this network.
	Addrs(i int) (raft, api string, extra []string)
	// Command wraps a node's command line so it runs inside its network.
	Command(i int, bin string, args []string) (string, []string)
	// LambdaAddr is where node i invokes the lambda platform listening on
	// platform: through this network, so Block(i, Lambdas) can cut it.
	LambdaAddr(i int, platform string) string
	// Block cuts traffic from node a to node b (one way; b may be Host or
	// Lambdas, where the network supports it); Heal restores every link
	// and removes delay and loss.
	Block(from, to int) error
	// Slow adds delay and loss to every packet node i sends.
	Slow(i int, delay time.Duration, loss float64) error
	Heal() error
	Close()
}

// Host stands for every process outside the nodes in Block.
const Host = -1

// Lambdas stands for the lambda platform in Block: a node cut from it
// cannot invoke lambdas (it may still reach clients and the store, where
// the network can cut the platform alone).
const Lambdas = -2

// ErrNoNetem: the kernel has no netem qdisc, so delay and loss cannot be
// injected in namespaces (the proxy network can).
var ErrNoNetem = fmt.Errorf("tc netem is unavailable in this kernel (no sch_netem)")

// NetworkKind picks the network: KAPPA_JEPSEN_NET=proxy|netns forces one;
// otherwise namespaces when this process may create them.
func NetworkKind() string {
	switch os.Getenv("KAPPA_JEPSEN_NET") {
	case "proxy":
		return "proxy"
	case "netns":
		return "netns"
	}
	if NetNSAvailable() {
		return "netns"
	}
	return "proxy"
}

// Partition cuts every link between nodes of different groups (both
// ways); nodes in no group keep every link (a bridge node).
func Partition(n Network, groups ...[]int) error {
	for gi, g := range groups {
		for gj, h := range groups {
			if gi == gj {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					if err := n.Block(a, b); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
