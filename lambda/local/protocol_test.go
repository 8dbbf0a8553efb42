package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	for _, msg := range []string{`{"type":"ready","pid":1}`, `{}`} {
		if err := writeFrame(&buf, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"type":"ready","pid":1}`, `{}`} {
		got, err := readFrame(&buf)
		if err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
}

func TestBadFramesAreErrors(t *testing.T) {
	truncated := append(binary.BigEndian.AppendUint32(nil, 10), "{}"...)
	if _, err := readFrame(bytes.NewReader(truncated)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: %v", err)
	}
	huge := binary.BigEndian.AppendUint32(nil, maxFrame+1)
	if _, err := readFrame(bytes.NewReader(huge)); err == nil {
		t.Fatal("oversized frame accepted")
	}
}
