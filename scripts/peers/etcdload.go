//go:build ignore

// etcdload drives the etcd peer of scripts/bench-peers.sh. It is built in
// the peers' cache (its own module, with etcd's client) and never part of
// Kappa's build, hence the ignore tag.
//
//	etcdload put --endpoints A,B,C --clients 128 --duration 10s
//	etcdload failover --endpoints A,B,C --pids P1,P2,P3
//	etcdload health --endpoints A,B,C
//
// Each prints one JSON object on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: etcdload put|failover|health --endpoints A,B,C ...")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	endpoints := fs.String("endpoints", "", "comma-separated client URLs")
	clients := fs.Int("clients", 1, "concurrent writers")
	duration := fs.Duration("duration", 5*time.Second, "measured time")
	valSize := fs.Int("value-size", 64, "bytes per value")
	pids := fs.String("pids", "", "process ids of the members, in --endpoints order")
	fs.Parse(os.Args[2:])
	eps := strings.Split(*endpoints, ",")
	switch os.Args[1] {
	case "put":
		put(eps, *clients, *duration, *valSize)
	case "failover":
		failover(eps, strings.Split(*pids, ","))
	case "health":
		health(eps)
	default:
		fail("unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "etcdload:", msg)
	os.Exit(2)
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func dial(eps []string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		fail(err.Error())
	}
	return c
}

// put runs `clients` writers, each putting its own key again and again,
// sharing one connection per 16 writers (as etcd's own benchmark tool does
// with --conns), and reports committed puts/s and their latency.
func put(eps []string, clients int, d time.Duration, valSize int) {
	conns := make([]*clientv3.Client, (clients+15)/16)
	for i := range conns {
		conns[i] = dial(eps)
	}
	val := strings.Repeat("x", valSize)
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := conns[w%len(conns)]
			key := "bench/" + strconv.Itoa(w)
			var mine []time.Duration
			for time.Now().Before(deadline) {
				t := time.Now()
				if _, err := c.Put(context.Background(), key, val); err != nil {
					fail(err.Error())
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	emit(map[string]any{"clients": clients, "puts": len(lat), "rate": float64(len(lat)) / d.Seconds(),
		"p50_ms": ms(pct(lat, 0.5)), "p99_ms": ms(pct(lat, 0.99))})
}

func pct(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// leader finds the member that leads, by asking each endpoint.
func leader(c *clientv3.Client, eps []string) int {
	for i, ep := range eps {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.Status(ctx, ep)
		cancel()
		if err == nil && st.Header.MemberId == st.Leader {
			return i
		}
	}
	return -1
}

// failover SIGKILLs the leader's process and times the first put committed
// by the survivors (each try bounded at 100 ms, as a client with a short
// request timeout would).
func failover(eps, pids []string) {
	c := dial(eps)
	li := leader(c, eps)
	if li < 0 {
		fail("no leader")
	}
	pid, err := strconv.Atoi(pids[li])
	if err != nil {
		fail("bad pid " + pids[li])
	}
	c.Close()
	var rest []string
	for i, ep := range eps {
		if i != li {
			rest = append(rest, ep)
		}
	}
	s := dial(rest)
	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		fail(err.Error())
	}
	for time.Since(start) < 30*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := s.Put(ctx, "bench/failover", "x")
		cancel()
		if err == nil {
			emit(map[string]any{"killed": li, "first_put_ms": ms(time.Since(start))})
			return
		}
	}
	fail("no put committed within 30s of the kill")
}

// health waits until every endpoint answers and one leads.
func health(eps []string) {
	c := dial(eps)
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		ok := true
		for _, ep := range eps {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := c.Status(ctx, ep)
			cancel()
			ok = ok && err == nil
		}
		if ok && leader(c, eps) >= 0 {
			emit(map[string]any{"healthy": true, "ms": ms(time.Since(start))})
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fail("cluster not healthy within 30s")
}
