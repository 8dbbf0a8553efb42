package local

import (
	"sync"
	"time"
)

// idlePool holds warm workers between invocations. It hands out the most
// recently used one first (so surplus workers age out), and passes a worker
// idle for longer than ttl to expire.
type idlePool struct {
	max    int
	ttl    time.Duration
	expire func(*worker) // called without the lock held

	mu   sync.Mutex
	idle []idleEntry // oldest first
}

type idleEntry struct {
	w     *worker
	timer *time.Timer
}

func newIdlePool(max int, ttl time.Duration, expire func(*worker)) *idlePool {
	return &idlePool{max: max, ttl: ttl, expire: expire}
}

// put parks w; false means the pool is full and the caller keeps w.
func (p *idlePool) put(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.max {
		return false
	}
	p.idle = append(p.idle, idleEntry{w: w, timer: time.AfterFunc(p.ttl, func() { p.expired(w) })})
	return true
}

// take removes and returns the most recently parked worker, or nil.
func (p *idlePool) take() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	e := p.idle[n-1]
	p.idle = p.idle[:n-1]
	e.timer.Stop()
	return e.w
}

// expired removes w if it is still parked (take may have won the race).
func (p *idlePool) expired(w *worker) {
	p.mu.Lock()
	found := false
	for i, e := range p.idle {
		if e.w == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		p.expire(w)
	}
}

// drain empties the pool and returns what it held.
func (p *idlePool) drain() []*worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	ws := make([]*worker, 0, len(p.idle))
	for _, e := range p.idle {
		e.timer.Stop()
		ws = append(ws, e.w)
	}
	p.idle = nil
	return ws
}

func (p *idlePool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
