package local

import (
	"fmt"
	"strings"
	"testing"
)

// feed runs the stream reader of one stream over text, as if the worker
// printed it.
func feed(r *logRouter, stream int, text string) { r.readStream(stream, strings.NewReader(text)) }

func TestMarkersEndAnInvocationsOutput(t *testing.T) {
	logs := &logCollector{}
	r := &logRouter{sink: logs.add}
	l := newInvocationLog("r1")
	r.begin(l)
	// The last line has no newline, so the marker ends it; what follows is
	// idle output, and a stale marker changes nothing.
	feed(r, 0, "one\ntwo"+string(endMarker)+"r1\nafter\n"+string(endMarker)+"r0\n")
	if got := logs.of("r1", "stdout"); strings.Join(got, "|") != "one|two" {
		t.Fatalf("r1 lines %q", got)
	}
	if got := logs.of("", "stdout"); strings.Join(got, "|") != "after" {
		t.Fatalf("idle lines %q", got)
	}
	select {
	case <-l.drained:
		t.Fatal("drained with stderr still attached")
	default:
	}
	r.end(l)
	<-l.drained
}

func TestTailIsBounded(t *testing.T) {
	l := newInvocationLog("r")
	for i := range tailLines + 5 {
		l.add([]byte(fmt.Sprint(i)))
	}
	lines := l.lines()
	if len(lines) != tailLines || lines[0] != "5" || l.lastLine() != fmt.Sprint(tailLines+4) {
		t.Fatalf("tail %q", lines)
	}
}
