package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the checkpoint store for clusters: one Redis (or a primary with
// replicas) shared by every node and every lambda. The Python runtime
// writes with redis-py, Go reads, lists and collects with go-redis, both
// under the same key layout. A put is durable before it returns: the
// server fsyncs every write (appendonly yes, appendfsync always), or each
// put WAITs for N replicas (?wait=N). Keys are create-only (SET NX).
type Redis struct {
	c           *redis.Client
	url         string
	waitN       int
	waitTimeout time.Duration
}

// OpenRedis connects and checks that the server is fit to hold
// checkpoints: it must never evict keys, and a write must be durable.
//
//	redis://[:password@]host:port[/db][?wait=N&wait_timeout_ms=T]   (rediss:// for TLS)
func OpenRedis(raw string) (*Redis, error) {
	if _, err := url.Parse(raw); err != nil {
		return nil, urlError(err)
	}
	opts, err := redis.ParseURL(stripWait(raw))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: store URL %s: %w", RedactURL(raw), err)
	}
	r := &Redis{c: redis.NewClient(opts), url: raw, waitTimeout: time.Second}
	u, _ := url.Parse(raw)
	if w := u.Query().Get("wait"); w != "" {
		if r.waitN, err = strconv.Atoi(w); err != nil || r.waitN < 0 {
			return nil, fmt.Errorf("checkpoint: store URL %s: wait=%q is not a replica count", RedactURL(raw), w)
		}
	}
	if t := u.Query().Get("wait_timeout_ms"); t != "" {
		ms, err := strconv.Atoi(t)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("checkpoint: store URL %s: wait_timeout_ms=%q is not a positive number", RedactURL(raw), t)
		}
		r.waitTimeout = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.check(ctx); err != nil {
		r.c.Close()
		return nil, err
	}
	return r, nil
}

// stripWait removes our own query parameters before go-redis parses it.
func stripWait(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Del("wait")
	q.Del("wait_timeout_ms")
	u.RawQuery = q.Encode()
	return u.String()
}

func (r *Redis) check(ctx context.Context) error {
	where := RedactURL(r.url)
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("checkpoint: Redis at %s is unreachable: %w", where, err)
	}
	policy, err := r.config(ctx, "maxmemory-policy")
	if err != nil {
		return err
	}
	if policy != "noeviction" {
		return fmt.Errorf("checkpoint: Redis at %s has maxmemory-policy %q: it could evict checkpoints; set `maxmemory-policy noeviction`", where, policy)
	}
	if r.waitN > 0 {
		return nil
	}
	aof, err := r.config(ctx, "appendonly")
	if err != nil {
		return err
	}
	fsync, err := r.config(ctx, "appendfsync")
	if err != nil {
		return err
	}
	if aof != "yes" || fsync != "always" {
		return fmt.Errorf("checkpoint: Redis at %s does not make writes durable (appendonly %s, appendfsync %s): set `appendonly yes` and `appendfsync always`, or add ?wait=N to the store URL to wait for N replicas",
			where, aof, fsync)
	}
	return nil
}

func (r *Redis) config(ctx context.Context, name string) (string, error) {
	v, err := r.c.ConfigGet(ctx, name).Result()
	if err != nil {
		return "", fmt.Errorf("checkpoint: Redis at %s: CONFIG GET %s: %w (the store needs CONFIG access to check durability)", RedactURL(r.url), name, err)
	}
	return v[name], nil
}

func (r *Redis) URL() string { return RedactURL(r.url) }

func (r *Redis) Put(ctx context.Context, key string, data []byte) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	ok, err := r.c.SetNX(ctx, key, data, 0).Result()
	if err != nil {
		return fmt.Errorf("checkpoint: put %s: %w", key, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrExists, key)
	}
	if r.waitN > 0 {
		n, err := r.c.Wait(ctx, r.waitN, r.waitTimeout).Result()
		if err != nil {
			return fmt.Errorf("checkpoint: put %s: WAIT: %w", key, err)
		}
		if n < int64(r.waitN) {
			return fmt.Errorf("checkpoint: put %s reached %d of %d replicas within %s", key, n, r.waitN, r.waitTimeout)
		}
	}
	return nil
}

func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	b, err := r.c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return b, err
}

func (r *Redis) Exists(ctx context.Context, key string) (bool, error) {
	n, err := r.c.Exists(ctx, key).Result()
	return n > 0, err
}

func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.c.Del(ctx, key).Err()
}

// List scans (never KEYS, which blocks the server) for keys under prefix.
func (r *Redis) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	iter := r.c.Scan(ctx, 0, escapeGlob(prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint: list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

func (r *Redis) Close() error { return r.c.Close() }
