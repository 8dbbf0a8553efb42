package local

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

const (
	tailLines   = 50        // lines kept per invocation for LogTail and crash messages
	tailLineCap = 4 << 10   // bytes kept of each tail line
	maxLine     = 256 << 10 // longer lines are split, so a newline-free flood cannot grow memory
)

// endMarker is what a worker writes on its own copies of stdout and stderr
// after each invocation, once the user's output is flushed. When the platform
// has read it on both streams it knows every earlier line belongs to that
// invocation, so attribution does not depend on goroutine timing.
var endMarker = []byte("\x00kappa:end:")

var streamNames = [2]string{"stdout", "stderr"}

// invocationLog collects what one invocation printed.
type invocationLog struct {
	requestID string

	mu      sync.Mutex
	tail    []string // ring of the last tailLines lines
	next    int
	open    int           // streams not yet ended for this invocation
	drained chan struct{} // closed when open reaches 0
}

func newInvocationLog(requestID string) *invocationLog {
	return &invocationLog{requestID: requestID, open: len(streamNames), drained: make(chan struct{})}
}

func (l *invocationLog) add(line []byte) {
	if len(line) > tailLineCap {
		line = line[:tailLineCap]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tail) < tailLines {
		l.tail = append(l.tail, string(line))
		return
	}
	l.tail[l.next] = string(line)
	l.next = (l.next + 1) % tailLines
}

func (l *invocationLog) streamEnded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.open == 0 {
		close(l.drained)
	}
}

// lines returns the tail in printing order.
func (l *invocationLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(append([]string(nil), l.tail[l.next:]...), l.tail[:l.next]...)
}

func (l *invocationLog) text() string { return strings.Join(l.lines(), "\n") }

// lastLine is the last non-blank line, for one-line crash messages.
func (l *invocationLog) lastLine() string {
	lines := l.lines()
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}

// logRouter attributes the lines of one worker's two streams to the
// invocation running at that moment.
type logRouter struct {
	sink LogSink
	mu   sync.Mutex
	cur  [2]*invocationLog // per stream; nil while the worker is idle
}

// begin attributes what follows on both streams to l (a no-op for the
// cold start that already attributed its start-up output to l).
func (r *logRouter) begin(l *invocationLog) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.cur {
		if r.cur[s] != l {
			r.detachLocked(s)
			r.cur[s] = l
		}
	}
}

// end detaches l from any stream that has not reached its marker (a killed
// worker, or output redirected by the user), so later lines count as idle.
func (r *logRouter) end(l *invocationLog) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.cur {
		if r.cur[s] == l {
			r.detachLocked(s)
		}
	}
}

func (r *logRouter) detachLocked(stream int) {
	if l := r.cur[stream]; l != nil {
		r.cur[stream] = nil
		l.streamEnded()
	}
}

func (r *logRouter) line(stream int, line []byte) {
	r.mu.Lock()
	l := r.cur[stream]
	r.mu.Unlock()
	requestID := ""
	if l != nil {
		l.add(line)
		requestID = l.requestID
	}
	if r.sink != nil {
		r.sink(requestID, streamNames[stream], line)
	}
}

// marker ends the stream's share of the named invocation; a stale marker
// (from an invocation already ended) is ignored.
func (r *logRouter) marker(stream int, requestID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.cur[stream]; l != nil && l.requestID == requestID {
		r.detachLocked(stream)
	}
}

func (r *logRouter) eof(stream int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.detachLocked(stream)
}

// readStream splits one stream into lines until EOF (or until the read end is
// closed), always draining so the worker never blocks on a full pipe.
func (r *logRouter) readStream(stream int, rd io.Reader) {
	defer r.eof(stream)
	br := bufio.NewReaderSize(rd, maxLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			r.chunk(stream, bytes.TrimSuffix(chunk, []byte("\n")))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// chunk handles one line, which may end in an end marker when the user's
// last output had no newline.
func (r *logRouter) chunk(stream int, b []byte) {
	i := bytes.Index(b, endMarker)
	if i < 0 {
		r.line(stream, bytes.Clone(b))
		return
	}
	if i > 0 {
		r.line(stream, bytes.Clone(b[:i]))
	}
	r.marker(stream, string(b[i+len(endMarker):]))
}
