package local

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// The platform and a worker talk over two pipes the worker inherits as fd 3
// (requests, platform → worker) and fd 4 (responses, worker → platform), so
// the user's stdout and stderr stay free for logs. Each message is a 4-byte
// big-endian length followed by that many bytes of JSON.

// maxFrame bounds one message so a corrupt length cannot make us allocate
// gigabytes; Lambda's own limit on payloads is far lower (6 MB).
const maxFrame = 64 << 20

// Message types.
const (
	msgReady     = "ready"      // worker → platform, once, after importing the handler
	msgInitError = "init_error" // worker → platform instead of ready when the handler cannot be loaded
	msgInvoke    = "invoke"     // platform → worker
	msgResult    = "result"     // worker → platform, once per invoke
)

// request is the invoke message.
type request struct {
	Type           string          `json:"type"`
	RequestID      string          `json:"request_id"`
	Function       string          `json:"function"`
	DeadlineUnixMS int64           `json:"deadline_unix_ms"`
	TimeoutMS      int64           `json:"timeout_ms"`
	Payload        json.RawMessage `json:"payload"`
}

// response is any worker → platform message; which fields are set depends on
// Type.
type response struct {
	Type      string          `json:"type"`
	PID       int             `json:"pid,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	OK        bool            `json:"ok,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	Error     json.RawMessage `json:"error,omitempty"`

	invalid error // set instead of the fields when the frame is not valid JSON
}

// writeFrame writes one message with a single Write so a concurrent kill
// never leaves a header without its body in the pipe.
func writeFrame(w io.Writer, msg []byte) error {
	if len(msg) > maxFrame {
		return fmt.Errorf("message of %d bytes exceeds the %d-byte limit", len(msg), maxFrame)
	}
	buf := make([]byte, 4+len(msg))
	binary.BigEndian.PutUint32(buf, uint32(len(msg)))
	copy(buf[4:], msg)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one message; io.EOF means the writer closed cleanly
// between messages.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("message of %d bytes exceeds the %d-byte limit", n, maxFrame)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return msg, nil
}
