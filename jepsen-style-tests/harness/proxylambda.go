package harness

import (
	"fmt"
	"net"
	"time"
)

// lambdaLink carries node i's invocations to the lambda platform, so the
// proxy network can cut a node from the platform alone (the API ports, and
// so clients and workers' calls, are not proxied). A cut link refuses new
// connections and resets open ones — what a node sees when its route to
// the platform is gone (in namespaces a blackhole route fails the connect
// at once) — and the heal listens again on the same address.
type lambdaLink struct {
	addr     string // where the node invokes
	platform string // where the platform listens
	ln       net.Listener
	conns    map[net.Conn]bool
}

// LambdaAddr starts node i's lambda link on first use (a restarted node
// keeps its address).
func (p *Proxy) LambdaAddr(i int, platform string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.lambda[i]; l != nil {
		return l.addr
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatalf("the proxy's lambda link of node %d: %v", i, err)
	}
	l := &lambdaLink{addr: ln.Addr().String(), platform: platform, ln: ln, conns: map[net.Conn]bool{}}
	p.lambda[i] = l
	go p.serveLambda(i, l, ln)
	return l.addr
}

func (p *Proxy) serveLambda(i int, l *lambdaLink, ln net.Listener) {
	for {
		down, err := ln.Accept()
		if err != nil {
			return
		}
		go p.handleLambda(i, l, down)
	}
}

func (p *Proxy) handleLambda(i int, l *lambdaLink, down net.Conn) {
	up, err := net.DialTimeout("tcp", l.platform, 5*time.Second)
	if err != nil {
		down.Close()
		return
	}
	p.mu.Lock()
	if p.closed || p.blocked[[2]int{i, Lambdas}] {
		p.mu.Unlock()
		down.Close()
		up.Close()
		return
	}
	l.conns[down], l.conns[up] = true, true
	p.mu.Unlock()
	go p.pump(i, Lambdas, down, up)
	p.pump(Lambdas, i, up, down)
	p.mu.Lock()
	delete(l.conns, down)
	delete(l.conns, up)
	p.mu.Unlock()
}

// cutLambdas stops node i's link: no listener, open connections closed.
// The caller holds p.mu.
func (p *Proxy) cutLambdas(i int) {
	l := p.lambda[i]
	if l == nil {
		return
	}
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Close()
	}
}

// healLambdas listens again on every cut link. The caller holds p.mu.
func (p *Proxy) healLambdas() error {
	var first error
	for i, l := range p.lambda {
		if l.ln != nil || p.closed {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("the proxy's lambda link of node %d cannot listen again on %s: %v", i, l.addr, err)
			}
			continue
		}
		l.ln = ln
		go p.serveLambda(i, l, ln)
	}
	return first
}
