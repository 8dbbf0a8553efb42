package node

import (
	"context"
	"errors"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
)

// storeOps are the checkpoint-store operations a node makes (programs it
// stores, garbage it lists and deletes); lambdas write checkpoints to the
// store directly and count in their own logs, not here.
var storeOps = []string{"put", "get", "exists", "delete", "list"}

// meteredStore times and counts a node's checkpoint-store operations. A
// key that exists (Put) or is missing (Get) is an answer, not an error.
type meteredStore struct {
	checkpoint.Store
	m *metrics
}

func (s meteredStore) observe(op string, started time.Time, err error) {
	s.m.storeTime.WithLabelValues(op).Observe(time.Since(started).Seconds())
	if err != nil && !errors.Is(err, checkpoint.ErrExists) && !errors.Is(err, checkpoint.ErrNotFound) {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
}

func (s meteredStore) Put(ctx context.Context, key string, data []byte) error {
	started := time.Now()
	err := s.Store.Put(ctx, key, data)
	s.observe("put", started, err)
	if err == nil {
		s.m.storeBytes.WithLabelValues("put").Add(float64(len(data)))
	}
	return err
}

func (s meteredStore) Get(ctx context.Context, key string) ([]byte, error) {
	started := time.Now()
	data, err := s.Store.Get(ctx, key)
	s.observe("get", started, err)
	s.m.storeBytes.WithLabelValues("get").Add(float64(len(data)))
	return data, err
}

func (s meteredStore) Exists(ctx context.Context, key string) (bool, error) {
	started := time.Now()
	ok, err := s.Store.Exists(ctx, key)
	s.observe("exists", started, err)
	return ok, err
}

func (s meteredStore) Delete(ctx context.Context, key string) error {
	started := time.Now()
	err := s.Store.Delete(ctx, key)
	s.observe("delete", started, err)
	return err
}

func (s meteredStore) List(ctx context.Context, prefix string) ([]string, error) {
	started := time.Now()
	keys, err := s.Store.List(ctx, prefix)
	s.observe("list", started, err)
	return keys, err
}
