package raftgrpc

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// BenchmarkApply measures committed raft Applies per second on a 3-node
// loopback cluster with boltdb stores (an fsync per batch) in temp dirs,
// from 1 and from 64 concurrent appliers, over this transport and, for
// comparison, over raft's own TCP NetworkTransport. Run the variants
// several times: on a shared machine the disk varies more than they do.
//
//	go test ./transport/raftgrpc -run '^$' -bench Apply -benchtime 5s -count 3
func BenchmarkApply(b *testing.B) {
	for _, transport := range []string{"grpc", "raft-tcp"} {
		for _, appliers := range []int{1, 64} {
			b.Run(fmt.Sprintf("transport=%s/appliers=%d", transport, appliers), func(b *testing.B) {
				c := newCluster(b, clusterOptions{boltDir: b.TempDir(), baseline: transport == "raft-tcp", raftConf: benchTimings})
				leader := c.leader()
				c.applyN(leader, 100, 8) // warm connections and pipelines
				b.ResetTimer()
				start := time.Now()
				c.applyN(leader, b.N, appliers)
				elapsed := time.Since(start)
				b.StopTimer()
				c.shutdown() // now, not after the last round: idle clusters would skew the next
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "applies/s")
			})
		}
	}
}

// benchTimings are raft's defaults: the tests' shorter timeouts make a
// leader saturated by 64 appliers on 2 cores step down now and then.
func benchTimings(conf *raft.Config) {
	conf.HeartbeatTimeout = time.Second
	conf.ElectionTimeout = time.Second
	conf.LeaderLeaseTimeout = 500 * time.Millisecond
}
