package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/proccluster"
)

// A server with --log-format json writes nothing but JSON objects with
// time, level and msg, Raft's lines included; and a dead peer, which makes
// the leader's Raft complain several times a second, adds a bounded number
// of lines in 30 s that say how many like them were left out.
func TestJSONLogsAndADeadPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and waits 30 s")
	}
	c := startCluster(t, proccluster.Options{Nodes: 3, ServerArgs: []string{"--log-format", "json"}})
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var dead *proccluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			dead = n
		}
	}
	before := len(parseJSONLines(t, c.Log(leader)))
	c.Kill(dead)
	time.Sleep(30 * time.Second)
	lines := parseJSONLines(t, c.Log(leader))
	raft, aboutDead, suppressed := 0, 0, 0.0
	for _, m := range lines {
		if m["logger"] == "raft" {
			raft++
		}
		if lvl := m["level"]; (lvl == "WARN" || lvl == "ERROR") && strings.Contains(toJSON(m), dead.ID) {
			aboutDead++
			if n, ok := m["suppressed"].(float64); ok {
				suppressed += n
			}
		}
	}
	if raft == 0 {
		t.Errorf("no line of Raft's (logger=raft) among %d", len(lines))
	}
	// Unlimited, Raft writes about 4 a second (120 in 30 s); limited, each
	// kind of line is written at once and then once per 10 s window.
	if aboutDead > 20 || suppressed == 0 {
		t.Errorf("%d warning/error lines about dead %s in 30 s (%.0f suppressed); want at most 20 that count the rest",
			aboutDead, dead.ID, suppressed)
	}
	t.Logf("%d lines before the kill, %d after; %d about the dead peer, counting %.0f left out", before, len(lines), aboutDead, suppressed)
}

func parseJSONLines(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if sc.Text() == "" || strings.HasPrefix(sc.Text(), "==== ") { // proccluster's header of each start
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("log line without %q: %s", k, sc.Text())
			}
		}
		out = append(out, m)
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
