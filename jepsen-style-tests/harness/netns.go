package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Every namespace and link the harness makes is named with the prefix and
// this process's PID, so a sweep can remove what a killed run left behind.
const (
	nsPrefix   = "kappa-jepsen-"
	linkPrefix = "kj"
)

var netnsSeq atomic.Int32

// NetNS puts node i in namespace kappa-jepsen-PID-K-nI with address
// 10.213.S.(11+i) on a veth pair whose host end sits on a bridge holding
// 10.213.S.1 (the host's address). These addresses exist only inside the
// namespaces and bridge this harness creates.
type NetNS struct {
	t      testing.TB
	tag    string // PID-K
	subnet string // "10.213.S"
	nodes  int
	netem  bool

	mu      sync.Mutex
	blocked map[[2]int]bool
	slowed  map[int]bool
}

// NetNSAvailable probes whether namespaces, veths and bridges can be made.
func NetNSAvailable() bool {
	name := fmt.Sprintf("%sprobe-%d", nsPrefix, os.Getpid())
	if run("ip", "netns", "add", name) != nil {
		return false
	}
	defer run("ip", "netns", "del", name)
	br := fmt.Sprintf("%sp%d", linkPrefix, os.Getpid())
	if run("ip", "link", "add", br, "type", "bridge") != nil {
		return false
	}
	run("ip", "link", "del", br)
	return true
}

// netemAvailable probes for the netem qdisc in a scratch namespace.
func netemAvailable() bool {
	name := fmt.Sprintf("%snetem-%d", nsPrefix, os.Getpid())
	if run("ip", "netns", "add", name) != nil {
		return false
	}
	defer run("ip", "netns", "del", name)
	return run("ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms") == nil
}

// NewNetNS creates the bridge and one namespace per node; t.Cleanup
// removes them (after the cluster's processes, which are stopped first).
func NewNetNS(t testing.TB, nodes int) *NetNS {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds network namespaces for a multi-process cluster")
	}
	SweepLeftovers()
	k := netnsSeq.Add(1) % 10
	n := &NetNS{t: t, tag: fmt.Sprintf("%d-%d", os.Getpid(), k), nodes: nodes, netem: netemAvailable(),
		blocked: map[[2]int]bool{}, slowed: map[int]bool{}}
	n.subnet = freeSubnet()
	t.Cleanup(n.Close)
	br := n.bridge()
	must(t, run("ip", "link", "add", br, "type", "bridge"))
	must(t, run("ip", "addr", "add", n.subnet+".1/24", "dev", br))
	must(t, run("ip", "link", "set", br, "up"))
	for i := 0; i < nodes; i++ {
		ns, veth := n.ns(i), n.veth(i)
		must(t, run("ip", "netns", "add", ns))
		must(t, run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns))
		must(t, run("ip", "link", "set", veth, "master", br, "up"))
		must(t, run("ip", "-n", ns, "addr", "add", n.ip(i)+"/24", "dev", "eth0"))
		must(t, run("ip", "-n", ns, "link", "set", "eth0", "up"))
		must(t, run("ip", "-n", ns, "link", "set", "lo", "up"))
	}
	return n
}

func (n *NetNS) ns(i int) string { return fmt.Sprintf("%s%s-n%d", nsPrefix, n.tag, i+1) }
func (n *NetNS) bridge() string  { return linkPrefix + "b" + strings.ReplaceAll(n.tag, "-", "x") }
func (n *NetNS) veth(i int) string {
	return fmt.Sprintf("%sv%sn%d", linkPrefix, strings.ReplaceAll(n.tag, "-", "x"), i+1)
}

// ip is node i's address, or the bridge's for Host.
func (n *NetNS) ip(i int) string {
	if i == Host {
		return n.HostIP()
	}
	return fmt.Sprintf("%s.%d", n.subnet, 11+i)
}

func (n *NetNS) Mode() string           { return "netns" }
func (n *NetNS) HostIP() string         { return n.subnet + ".1" }
func (n *NetNS) HasNetem() bool         { return n.netem }
func (n *NetNS) Namespace(i int) string { return n.ns(i) }

func (n *NetNS) Addrs(i int) (string, string, []string) {
	return n.ip(i) + ":7100", n.ip(i) + ":7000", nil
}

func (n *NetNS) Command(i int, bin string, args []string) (string, []string) {
	return "ip", append([]string{"netns", "exec", n.ns(i), bin}, args...)
}

// LambdaAddr: the platform runs on the host, reached directly.
func (n *NetNS) LambdaAddr(i int, platform string) string { return platform }

// Block drops, inside from's namespace, every packet to to's address (to
// may be Host): a blackhole route, so TCP to and from that peer stalls.
// The lambda platform listens on the host's address, so cutting a node
// from it (Lambdas) cuts it from the whole host.
func (n *NetNS) Block(from, to int) error {
	if to == Lambdas {
		to = Host
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blocked[[2]int{from, to}] {
		return nil
	}
	if err := run("ip", "-n", n.ns(from), "route", "add", "blackhole", n.ip(to)+"/32"); err != nil {
		return err
	}
	n.blocked[[2]int{from, to}] = true
	return nil
}

func (n *NetNS) Slow(i int, delay time.Duration, loss float64) error {
	if !n.netem {
		return ErrNoNetem
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.slowed[i] = true
	return run("ip", "netns", "exec", n.ns(i), "tc", "qdisc", "replace", "dev", "eth0", "root", "netem",
		"delay", fmt.Sprintf("%dms", delay.Milliseconds()), "loss", fmt.Sprintf("%.1f%%", loss*100))
}

func (n *NetNS) Heal() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var first error
	for k := range n.blocked {
		if err := run("ip", "-n", n.ns(k[0]), "route", "del", "blackhole", n.ip(k[1])+"/32"); err != nil && first == nil {
			first = err
		}
		delete(n.blocked, k)
	}
	for i := range n.slowed {
		run("ip", "netns", "exec", n.ns(i), "tc", "qdisc", "del", "dev", "eth0", "root")
		delete(n.slowed, i)
	}
	return first
}

// Close kills anything still inside the namespaces, then deletes them and
// the bridge (the veths go with their namespaces).
func (n *NetNS) Close() {
	for i := 0; i < n.nodes; i++ {
		killNamespace(n.ns(i))
	}
	run("ip", "link", "del", n.bridge())
}

func killNamespace(ns string) {
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for try := 0; try < 50; try++ {
		if run("ip", "netns", "del", ns) == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SweepLeftovers removes namespaces and links of earlier runs whose
// process is gone (a run killed before its cleanup).
func SweepLeftovers() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		if pid := ownerPID(strings.TrimPrefix(f[0], nsPrefix), "-"); pid > 0 && !alive(pid) {
			killNamespace(f[0])
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
		if !strings.HasPrefix(name, linkPrefix+"b") && !strings.HasPrefix(name, linkPrefix+"v") {
			continue
		}
		if pid := ownerPID(name[len(linkPrefix)+1:], "x"); pid > 0 && !alive(pid) {
			run("ip", "link", "del", name)
		}
	}
}

func ownerPID(rest, sep string) int {
	pid, err := strconv.Atoi(strings.SplitN(rest, sep, 2)[0])
	if err != nil {
		return 0
	}
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// freeSubnet picks a 10.213.S.0/24 no interface on this machine uses.
func freeSubnet() string {
	out, _ := exec.Command("ip", "-o", "addr", "show").Output()
	for s := os.Getpid() % 200; ; s = (s + 1) % 250 {
		sub := fmt.Sprintf("10.213.%d", s+1)
		if !strings.Contains(string(out), " "+sub+".") {
			return sub
		}
	}
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
