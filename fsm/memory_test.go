package fsm

import (
	"fmt"
	"runtime"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// What the replicated state costs, per job, task and queue item: the heap
// a replica holds (runtime.MemStats around building the state) and the
// bytes each adds to a snapshot. docs/operations.md ("Limits and quotas")
// quotes these numbers; regenerate them with
//
//	go test -run '^$' -bench StateMemory -benchtime 1x ./fsm
//
// Values are 100-byte inline values (a small pickled argument or item);
// larger ones cost their size more, up to the inline limit, beyond which
// they live in the checkpoint store and cost a key.
func BenchmarkStateMemory(b *testing.B) {
	const n = 100_000
	value := &pb.Value{Where: &pb.Value_Inline{Inline: make([]byte, 100)}}
	b.Run("job", func(b *testing.B) {
		measure(b, n, "job", func(l *log) {
			for i := 0; i < n; i++ {
				l.m.Apply(uint64(i+2), &pb.Entry{Commands: []*pb.Command{{ClockMs: int64(i),
					Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "2f1c0ad2c53be87a6e1fb0f0e7f8d2e4c2b7a0f3d1e6c9b8a7f6e5d4c3b2a190", EventJson: []byte(`{"n": 1}`), Name: "app.py"}}}}})
			}
		})
	})
	b.Run("task", func(b *testing.B) {
		measure(b, n, "task", func(l *log) {
			job := l.submit()
			w, _ := l.start(job, RootTask, 1)
			const batch = 1000
			for i := 0; i < n; i += batch {
				children := make([]*pb.Child, batch)
				for k := range children {
					children[k] = &pb.Child{Start: value, Name: "work"}
				}
				w.call(&pb.Spawn{Children: children})
			}
		})
	})
	b.Run("queue-item", func(b *testing.B) {
		measure(b, n, "item", func(l *log) {
			job := l.submit()
			w, _ := l.start(job, RootTask, 1)
			q := w.call(&pb.CreateQueues{MaxSize: n, Count: 1}).GetQueuesCreated().GetQueueIds()[0]
			const batch = 1000
			for i := 0; i < n; i += batch {
				batchItems := make([]*pb.Value, batch)
				for k := range batchItems {
					batchItems[k] = value
				}
				w.call(&pb.Enqueue{QueueId: q, Items: batchItems})
			}
		})
	})
}

// measure builds a state with n of something and reports the heap and
// snapshot bytes each costs.
func measure(b *testing.B, n int, unit string, build func(l *log)) {
	for i := 0; i < b.N; i++ {
		l := newLog(b)
		l.version2()
		base := heapInUse()
		baseSnap := snapshotLen(b, l.m)
		build(l)
		l.entries = nil // the test log's own copy of the entries is not state
		heap := heapInUse() - base
		snap := snapshotLen(b, l.m) - baseSnap
		runtime.KeepAlive(l.m)
		b.ReportMetric(float64(heap)/float64(n), "heap-B/"+unit)
		b.ReportMetric(float64(snap)/float64(n), "snapshot-B/"+unit)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func snapshotLen(b *testing.B, m *Machine) int {
	data, err := m.MarshalState()
	if err != nil {
		b.Fatal(fmt.Errorf("snapshot: %w", err))
	}
	return len(data)
}
