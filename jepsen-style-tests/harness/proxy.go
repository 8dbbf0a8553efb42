package harness

import (
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proxy is the loopback fallback: node i listens on 127.0.0.(41+i) and
// advertises its Raft address as a proxy on 127.0.0.(71+i); every node
// dials its peers from its own address, so the proxy knows which link a
// connection is. A blocked link holds its bytes (as a partition holds
// packets: TCP stalls, then flows again after the heal); a slow link
// delays each chunk and, with the loss probability, delays it by a
// retransmission timeout more. The API ports are not proxied; each node's
// invocations of the lambda platform are (proxylambda.go).
type Proxy struct {
	t       testing.TB
	nodes   int
	raft    []string // the nodes' real Raft listen addresses
	proxies []net.Listener

	mu      sync.Mutex
	cond    *sync.Cond
	blocked map[[2]int]bool
	delay   map[int]time.Duration
	loss    map[int]float64
	rng     *rand.Rand
	conns   map[net.Conn]bool
	lambda  map[int]*lambdaLink // by node, once LambdaAddr made it
	closed  bool
}

// retransmit is what one lost packet costs a TCP stream (an RTO).
const retransmit = 200 * time.Millisecond

// NewProxy starts a listener per node; t.Cleanup closes them.
func NewProxy(t testing.TB, nodes int) *Proxy {
	t.Helper()
	p := &Proxy{t: t, nodes: nodes, blocked: map[[2]int]bool{}, delay: map[int]time.Duration{}, loss: map[int]float64{},
		rng: rand.New(rand.NewSource(1)), conns: map[net.Conn]bool{}, lambda: map[int]*lambdaLink{}}
	p.cond = sync.NewCond(&p.mu)
	for i := 0; i < nodes; i++ {
		p.raft = append(p.raft, freeAddr(t, p.nodeIP(i)))
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", 71+i))
		if err != nil {
			t.Fatal(err)
		}
		p.proxies = append(p.proxies, l)
		go p.serve(i, l)
	}
	t.Cleanup(p.Close)
	return p
}

func (p *Proxy) nodeIP(i int) string { return fmt.Sprintf("127.0.0.%d", 41+i) }
func (p *Proxy) Mode() string        { return "proxy" }
func (p *Proxy) HostIP() string      { return "127.0.0.1" }

func (p *Proxy) Addrs(i int) (string, string, []string) {
	return p.raft[i], freeAddr(p.t, p.nodeIP(i)),
		[]string{"--test-raft-advertise", p.proxies[i].Addr().String(), "--test-raft-source-ip", p.nodeIP(i)}
}

func (p *Proxy) Command(i int, bin string, args []string) (string, []string) { return bin, args }

// source maps a connection's remote address to a node index (-1: host).
func (p *Proxy) source(c net.Conn) int {
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	for i := 0; i < p.nodes; i++ {
		if host == p.nodeIP(i) {
			return i
		}
	}
	return -1
}

func (p *Proxy) serve(dst int, l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.handle(p.source(c), dst, c)
	}
}

func (p *Proxy) handle(src, dst int, down net.Conn) {
	// A partition drops the SYN: the dial to the node waits for the heal.
	if !p.wait(src, dst) {
		down.Close()
		return
	}
	up, err := net.DialTimeout("tcp", p.raft[dst], 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	if !p.track(down, up) {
		return
	}
	go p.pump(src, dst, down, up)
	p.pump(dst, src, up, down)
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		if p.closed {
			c.Close()
			continue
		}
		p.conns[c] = true
	}
	return !p.closed
}

// pump copies from → to, the link being from's node to to's node.
func (p *Proxy) pump(from, to int, r, w net.Conn) {
	defer r.Close()
	defer w.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if !p.wait(from, to) {
				return
			}
			if d := p.lag(from); d > 0 {
				time.Sleep(d)
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// wait blocks while the link is cut; false once the proxy is closed.
func (p *Proxy) wait(from, to int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && p.blocked[[2]int{from, to}] {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *Proxy) lag(from int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.delay[from]
	if l := p.loss[from]; l > 0 && p.rng.Float64() < l {
		d += retransmit
	}
	return d
}

func (p *Proxy) Block(from, to int) error {
	if from == Host || to == Host {
		return fmt.Errorf("the proxy network does not carry the API: it cannot cut nodes from clients")
	}
	if from == Lambdas {
		return fmt.Errorf("the proxy network cuts a node's lambda link from the node's side only")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked[[2]int{from, to}] = true
	if to == Lambdas {
		p.cutLambdas(from)
	}
	return nil
}

func (p *Proxy) Slow(i int, delay time.Duration, loss float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay[i], p.loss[i] = delay, loss
	return nil
}

func (p *Proxy) Heal() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = map[[2]int]bool{}
	p.delay = map[int]time.Duration{}
	p.loss = map[int]float64{}
	p.cond.Broadcast()
	return p.healLambdas()
}

func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	for i := range p.lambda {
		p.cutLambdas(i)
	}
	p.mu.Unlock()
	for _, l := range p.proxies {
		l.Close()
	}
}

// String names the proxy's listeners (for logs).
func (p *Proxy) String() string {
	var s []string
	for _, l := range p.proxies {
		s = append(s, l.Addr().String())
	}
	return "proxy " + strings.Join(s, ",")
}
