package logging

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Hclog is an hclog.Logger (what hashicorp/raft logs through) that writes
// through a slog.Logger, so raft's lines have the node's format and keys.
// Its own level filters first (raft is chatty at info), then the slog
// handler's.
type Hclog struct {
	l     *slog.Logger
	name  string
	level *atomic.Int32
	args  []any
}

var _ hclog.Logger = (*Hclog)(nil)

// NewHclog adapts l; name is the "logger" field of every line.
func NewHclog(l *slog.Logger, name string, level hclog.Level) *Hclog {
	lv := &atomic.Int32{}
	lv.Store(int32(level))
	return &Hclog{l: l.With("logger", name), name: name, level: lv}
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (h *Hclog) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < hclog.Level(h.level.Load()) {
		return
	}
	sl := slogLevel(level)
	ctx := context.Background()
	if !h.l.Enabled(ctx, sl) {
		return
	}
	var pcs [1]uintptr
	runtime.Callers(3, pcs[:]) // the caller of Trace/Debug/…
	r := slog.NewRecord(time.Now(), sl, msg, pcs[0])
	r.Add(plainArgs(args)...)
	_ = h.l.Handler().Handle(ctx, r)
}

// plainArgs turns hclog's key/value pairs into slog's, with values slog
// prints well: errors and Stringers as their text, other structs (raft's
// Server, say) in Go's %+v form.
func plainArgs(args []any) []any {
	out := make([]any, 0, len(args))
	for i, a := range args {
		if i%2 == 0 {
			if k, ok := a.(string); ok {
				out = append(out, strings.ReplaceAll(k, " ", "_"))
				continue
			}
		}
		out = append(out, plainValue(a))
	}
	return out
}

func plainValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int32, int64, uint, uint32, uint64, float64, time.Duration, time.Time:
		return x
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case hclog.Format:
		return fmt.Sprintf(x[0].(string), x[1:]...)
	}
	return fmt.Sprintf("%+v", v)
}

func (h *Hclog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *Hclog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *Hclog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *Hclog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *Hclog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *Hclog) enabled(l hclog.Level) bool { return l >= hclog.Level(h.level.Load()) }

func (h *Hclog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *Hclog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *Hclog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *Hclog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *Hclog) IsError() bool { return h.enabled(hclog.Error) }

func (h *Hclog) ImpliedArgs() []any { return h.args }

func (h *Hclog) With(args ...any) hclog.Logger {
	return &Hclog{l: h.l.With(plainArgs(args)...), name: h.name, level: h.level, args: append(append([]any(nil), h.args...), args...)}
}

func (h *Hclog) Name() string { return h.name }

// Named and ResetNamed keep the logger field of the root: raft names
// sub-loggers rarely and the field stays one value per component.
func (h *Hclog) Named(name string) hclog.Logger {
	return &Hclog{l: h.l.With("component", name), name: h.name + "." + name, level: h.level, args: h.args}
}

func (h *Hclog) ResetNamed(name string) hclog.Logger { return h.Named(name) }

func (h *Hclog) SetLevel(l hclog.Level) { h.level.Store(int32(l)) }

func (h *Hclog) GetLevel() hclog.Level { return hclog.Level(h.level.Load()) }

func (h *Hclog) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *Hclog) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		h.Info(strings.TrimSpace(string(p)))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
