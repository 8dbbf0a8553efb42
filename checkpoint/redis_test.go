package checkpoint

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kappa-serverless/kappa/checkpoint/redistest"
)

func TestRedisStoreIsCreateOnlyAndSurvivesRestart(t *testing.T) {
	srv := redistest.Start(t)
	s, err := Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	key := CheckpointKey(1, 2, 3, 4)
	if err := s.Put(ctx, key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("two")); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	s.Put(ctx, CheckpointKey(1, 2, 3, 5), []byte("x"))
	s.Put(ctx, CheckpointKey(1, 3, 1, 1), []byte("y"))
	keys, err := s.List(ctx, TaskPrefix(1, 2))
	if err != nil || len(keys) != 2 || keys[0] != key {
		t.Fatalf("list %v %v", keys, err)
	}
	srv.Restart()
	if got, err := s.Get(ctx, key); err != nil || string(got) != "one" {
		t.Fatalf("after a restart: %q %v", got, err)
	}
	s.Delete(ctx, key)
	if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
}

func TestRedisStoreRefusesUnsafeServers(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	if _, err := Open(srv.URL()); err == nil || !strings.Contains(err.Error(), "maxmemory-policy") {
		t.Fatalf("evicting server: %v", err)
	}
	c.ConfigSet(ctx, "maxmemory-policy", "noeviction")
	c.ConfigSet(ctx, "appendfsync", "everysec")
	if _, err := Open(srv.URL()); err == nil || !strings.Contains(err.Error(), "appendfsync always") {
		t.Fatalf("non-durable server: %v", err)
	}
	// With ?wait=N durability comes from replicas instead; this server has
	// none, so the put reports it.
	s, err := Open(srv.URL() + "?wait=1&wait_timeout_ms=100")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "jobs/j1/t1/e1-s1.ckpt", []byte("x")); err == nil || !strings.Contains(err.Error(), "0 of 1 replicas") {
		t.Fatalf("wait without replicas: %v", err)
	}
}

func TestRedisStoreAuthAndUnreachable(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret")
	if _, err := Open(srv.URL()); err == nil {
		t.Fatal("no password accepted")
	}
	s, err := Open("redis://:s3cret@" + srv.Addr + "/0")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	srv.Stop()
	_, err = Open("redis://:s3cret@" + srv.Addr + "/0")
	if err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("unreachable: %v (the password must not show)", err)
	}
}
