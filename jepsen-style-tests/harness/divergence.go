package harness

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// Divergence says where diverged replicas part, read from their Raft logs
// once the cluster is stopped: the first index whose entries differ (a
// replication or storage fault), or that the logs agree (then some node
// applied them differently). The logs are compared as bytes: this package
// sees the cluster only from outside, not the state machine.
func (c *Cluster) Divergence() string {
	c.Stop()
	var ids, paths []string
	for _, n := range c.Nodes {
		ids = append(ids, n.ID)
		paths = append(paths, filepath.Join(n.DataDir, "raft", "raft.db"))
	}
	return compareLogs(ids, paths)
}

// compareLogs reads the Bolt logs at paths (of the nodes ids) and says
// where they first differ.
func compareLogs(ids, paths []string) string {
	type nodeLog struct {
		id      string
		first   uint64
		entries []raft.Log
	}
	var logs []nodeLog
	var out []string
	for i, path := range paths {
		first, entries, err := readLog(path)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", ids[i], err))
			continue
		}
		if len(entries) == 0 {
			out = append(out, ids[i]+"'s log is empty")
			continue
		}
		logs = append(logs, nodeLog{ids[i], first, entries})
		out = append(out, fmt.Sprintf("%s's log %d..%d", ids[i], first, first+uint64(len(entries))-1))
	}
	if len(logs) < 2 {
		return strings.Join(out, "; ")
	}
	lo, hi := logs[0].first, logs[0].first+uint64(len(logs[0].entries))
	for _, l := range logs[1:] {
		lo, hi = max(lo, l.first), min(hi, l.first+uint64(len(l.entries)))
	}
	for i := lo; i < hi; i++ {
		want := describe(logs[0].entries[i-logs[0].first])
		for _, l := range logs[1:] {
			if got := describe(l.entries[i-l.first]); got != want {
				return strings.Join(append(out, fmt.Sprintf("the logs differ first at index %d: %s has %s, %s has %s",
					i, logs[0].id, want, l.id, got)), "; ")
			}
		}
	}
	return strings.Join(append(out, fmt.Sprintf("the logs agree on %d..%d", lo, hi-1)), "; ")
}

// readLog reads a stopped node's Bolt log from its first entry.
func readLog(path string) (uint64, []raft.Log, error) {
	store, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second}})
	if err != nil {
		return 0, nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer store.Close()
	first, err := store.FirstIndex()
	if err != nil {
		return 0, nil, err
	}
	last, err := store.LastIndex()
	if err != nil {
		return 0, nil, err
	}
	var entries []raft.Log
	for i := first; i <= last && first > 0; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			return 0, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		entries = append(entries, l)
	}
	return first, entries, nil
}

func describe(l raft.Log) string {
	sum := sha256.Sum256(l.Data)
	return fmt.Sprintf("term %d %s %x", l.Term, l.Type, sum[:6])
}
