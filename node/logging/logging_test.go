package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// syncBuffer is a bytes.Buffer the limiter's timer may write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines parses every line written so far as a JSON object.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	text := s.b.String()
	s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func TestRepeatedErrorsAreCountedNotRepeated(t *testing.T) {
	var buf syncBuffer
	l, err := New(&buf, Options{Format: "json", RepeatWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		l.Error("failed to heartbeat", "peer", "n2", "err", "connection refused")
		l.Error("failed to heartbeat", "peer", "n3", "err", "connection refused")
		l.Info("a routine line")
	}
	got := buf.lines(t)
	if len(got) != 2+100 {
		t.Fatalf("want the first error per peer and every info line at once, got %d lines", len(got))
	}
	// Each peer's window ends with one line carrying what it left out.
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 104 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		got = buf.lines(t)
	}
	suppressed := map[string]float64{}
	for _, m := range got[102:] {
		suppressed[m["peer"].(string)] = m[SuppressedKey].(float64)
	}
	if len(got) != 104 || suppressed["n2"] != 99 || suppressed["n3"] != 99 {
		t.Fatalf("want one summary per peer with suppressed=99, got %d lines: %v", len(got), got[102:])
	}
}

func TestUnknownFormatAndLevelAreRefused(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Fatalf("xml format: %v", err)
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("level loud: %v", err)
	}
}

// Raft's lines through the hclog adapter have the node's schema.
func TestHclogLinesHaveTheSlogSchema(t *testing.T) {
	var buf syncBuffer
	l, err := New(&buf, Options{Format: "json", Level: slog.LevelDebug, RepeatWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHclog(l.With("node", "n1"), "raft", hclog.Info)
	h.Debug("not written: below the adapter's level")
	type server struct{ ID, Address string }
	h.Warn("failed to contact", "server-id", "n2", "peer", server{"n2", "127.0.0.1:1"}, "error", errors.New("refused"))
	h.Named("snapshot").Info("snapshot complete", "index", uint64(42))
	got := buf.lines(t)
	if len(got) != 2 {
		t.Fatalf("want 2 lines, got %v", got)
	}
	w := got[0]
	for k, v := range map[string]any{"level": "WARN", "msg": "failed to contact", "logger": "raft", "node": "n1",
		"server-id": "n2", "error": "refused", "peer": "{ID:n2 Address:127.0.0.1:1}"} {
		if w[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, w[k], v, w)
		}
	}
	if _, ok := w["time"]; !ok {
		t.Errorf("no time: %v", w)
	}
	if got[1]["component"] != "snapshot" || got[1]["index"] != float64(42) {
		t.Errorf("named logger line: %v", got[1])
	}
}
