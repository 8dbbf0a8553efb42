// Package checkpoint is checkpoint storage as the Go side sees it: the
// store interface, the key layout shared with the Python runtime, the
// envelope that binds bytes to their key, and program bundles.
//
// Keys are immutable: a key is written once and never overwritten, so a
// pointer committed in the FSM always names the bytes it was committed for.
package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotFound: no value under the key.
var ErrNotFound = errors.New("checkpoint: key not found")

// ErrExists: the key was written before; keys are create-only.
var ErrExists = errors.New("checkpoint: key already exists")

// Store holds checkpoints, spawn arguments, large values and program
// bundles by key.
type Store interface {
	// Put writes data under a new key and makes it durable before it
	// returns. Writing an existing key fails with ErrExists.
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Exists(ctx context.Context, key string) (bool, error)
	Delete(ctx context.Context, key string) error
	// List returns the keys under a prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// URL is the store's URL with any password redacted: safe to print.
	URL() string
	Close() error
}

// Open opens a store by URL: file:///abs/dir (or a plain directory path),
// redis://… or rediss://… (see OpenRedis).
func Open(raw string) (Store, error) {
	if raw == "" {
		return nil, errors.New("checkpoint: no store URL given (use file:///path/to/dir)")
	}
	if !strings.Contains(raw, "://") {
		return OpenDir(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, urlError(err)
	}
	switch u.Scheme {
	case "redis", "rediss":
		return OpenRedis(raw)
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("checkpoint: store URL %s names host %q; use file:///absolute/path", RedactURL(raw), u.Host)
		}
		return OpenDir(u.Path)
	default:
		return nil, fmt.Errorf("checkpoint: store URL %s: unsupported scheme %q (supported: file://, redis://, rediss://)", RedactURL(raw), u.Scheme)
	}
}

// ValidKey checks a key against the layout's alphabet, so no key can
// escape the store's root or collide after normalization.
func ValidKey(key string) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("checkpoint: invalid key %q: empty or longer than 512 bytes", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." || strings.HasPrefix(part, ".") {
			return fmt.Errorf("checkpoint: invalid key %q: empty, dot or hidden path segment", key)
		}
	}
	for _, r := range key {
		ok := r == '/' || r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return fmt.Errorf("checkpoint: invalid key %q: character %q is not allowed", key, r)
		}
	}
	return nil
}
