// Package logging makes a node's log: one format for every line the
// process writes (its own, hashicorp/raft's through an hclog adapter,
// gRPC's through a grpclog adapter), JSON or text with slog's keys (time,
// level, msg, then fields), and repeated warnings and errors rate-limited
// with a count of what was left out.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Formats are the values --log-format takes.
var Formats = []string{"text", "json"}

// DefaultRepeatWindow is how often a repeated warning or error is written
// at most: the first occurrence at once, then one line per window that
// carries how many like it were left out.
const DefaultRepeatWindow = 10 * time.Second

// Options shape a logger.
type Options struct {
	Format string // text (default) or json
	Level  slog.Leveler
	// RepeatWindow bounds repeated warnings and errors (0: DefaultRepeatWindow;
	// negative: no limit).
	RepeatWindow time.Duration
}

// New makes a logger writing to w in the given format.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	h, err := NewHandler(w, o)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// NewHandler is New's handler.
func NewHandler(w io.Writer, o Options) (slog.Handler, error) {
	ho := &slog.HandlerOptions{Level: o.Level}
	var h slog.Handler
	switch strings.ToLower(o.Format) {
	case "", "text":
		h = slog.NewTextHandler(w, ho)
	case "json":
		h = slog.NewJSONHandler(w, ho)
	default:
		return nil, fmt.Errorf("--log-format %q: want %s", o.Format, strings.Join(Formats, " or "))
	}
	window := o.RepeatWindow
	if window == 0 {
		window = DefaultRepeatWindow
	}
	if window > 0 {
		h = NewRepeatLimiter(h, window)
	}
	return h, nil
}

// ParseLevel reads debug, info, warn or error (case-insensitive).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
