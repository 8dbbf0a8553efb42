package logging

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// A dead peer makes raft warn several times a second for as long as it is
// down; a full disk or an unreachable store does the same in our own
// loops. RepeatLimiter writes the first such line at once and then at most
// one per window, the latest one, with suppressed=N: how many lines like it
// were left out since the previous one written. Lines are alike when they
// have the same level, message, logger fields and the fields below that
// name what the line is about (so two dead peers are reported apart) and
// the reason of a refusal (a stable code, unlike an error's text: two
// kinds of refused caller are two lines).
// Info and debug lines pass untouched.

// identityKeys name the fields that tell repeated lines apart.
var identityKeys = map[string]bool{
	"peer": true, "server-id": true, "to": true, "from": true, "target": true,
	"job": true, "task": true, "dir": true, "store": true, "reason": true,
}

// SuppressedKey is the field that counts the lines left out.
const SuppressedKey = "suppressed"

// maxRepeatKeys bounds the lines remembered; beyond it lines pass unlimited.
const maxRepeatKeys = 4096

// RepeatLimiter is a slog.Handler that rate-limits repeated warnings and
// errors of the handler it wraps.
type RepeatLimiter struct {
	inner  slog.Handler
	prefix string // the fields and groups this handler adds
	s      *repeats
}

type repeats struct {
	mu     sync.Mutex
	window time.Duration
	keys   map[string]*repeat
}

// repeat is one kind of line: when its window began, and what was left
// out in it.
type repeat struct {
	since time.Time
	left  int
	last  slog.Record
	h     slog.Handler
	timer *time.Timer
}

// NewRepeatLimiter wraps h.
func NewRepeatLimiter(h slog.Handler, window time.Duration) *RepeatLimiter {
	return &RepeatLimiter{inner: h, s: &repeats{window: window, keys: map[string]*repeat{}}}
}

func (l *RepeatLimiter) Enabled(ctx context.Context, level slog.Level) bool {
	return l.inner.Enabled(ctx, level)
}

func (l *RepeatLimiter) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(l.prefix)
	for _, a := range as {
		b.WriteString(a.String())
		b.WriteByte(' ')
	}
	return &RepeatLimiter{inner: l.inner.WithAttrs(as), prefix: b.String(), s: l.s}
}

func (l *RepeatLimiter) WithGroup(name string) slog.Handler {
	return &RepeatLimiter{inner: l.inner.WithGroup(name), prefix: l.prefix + "[" + name + "] ", s: l.s}
}

func (l *RepeatLimiter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return l.inner.Handle(ctx, r)
	}
	key := l.key(r)
	now := time.Now()
	s := l.s
	s.mu.Lock()
	rep := s.keys[key]
	if rep != nil && now.Sub(rep.since) < s.window {
		rep.left++
		rep.last = r.Clone()
		if rep.timer == nil {
			rep.timer = time.AfterFunc(rep.since.Add(s.window).Sub(now), func() { s.flush(key, rep) })
		}
		s.mu.Unlock()
		return nil
	}
	left := 0
	if rep != nil {
		left = rep.left
		if rep.timer != nil {
			rep.timer.Stop()
		}
	}
	if rep != nil || s.room(now) {
		s.keys[key] = &repeat{since: now, h: l.inner}
	}
	s.mu.Unlock()
	if left > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int(SuppressedKey, left))
	}
	return l.inner.Handle(ctx, r)
}

func (l *RepeatLimiter) key(r slog.Record) string {
	var b strings.Builder
	b.WriteString(l.prefix)
	b.WriteString(r.Level.String())
	b.WriteByte('|')
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if identityKeys[a.Key] {
			b.WriteByte('|')
			b.WriteString(a.String())
		}
		return true
	})
	return b.String()
}

// room makes space for one more kind of line by forgetting those whose
// window passed with nothing left out; false when all are still live.
func (s *repeats) room(now time.Time) bool {
	if len(s.keys) < maxRepeatKeys {
		return true
	}
	for k, rep := range s.keys {
		if rep.left == 0 && now.Sub(rep.since) >= s.window {
			delete(s.keys, k)
		}
	}
	return len(s.keys) < maxRepeatKeys
}

// flush writes the latest line left out in rep's window, with the count,
// and starts the next window: a line repeated for ever is written once
// per window.
func (s *repeats) flush(key string, rep *repeat) {
	s.mu.Lock()
	if s.keys[key] != rep || rep.left == 0 {
		s.mu.Unlock()
		return
	}
	r, left := rep.last, rep.left
	rep.left, rep.since, rep.timer = 0, time.Now(), nil
	rep.last = slog.Record{}
	s.mu.Unlock()
	r.AddAttrs(slog.Int(SuppressedKey, left))
	_ = rep.h.Handle(context.Background(), r)
}
