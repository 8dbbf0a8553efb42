package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda/local"
	"github.com/kappa-serverless/kappa/node"
)

// embedded is the embedded default: an in-process single-node cluster, the
// local lambda platform and the directory store, all under one data dir.
type embedded struct {
	platform *local.Platform
	node     *node.Node
	dataDir  string
	temp     bool
}

type embeddedOptions struct {
	dataDir       string
	python        string
	lambdaTimeout time.Duration
	concurrency   int
	logger        *slog.Logger
	logSink       local.LogSink
	raftLog       io.Writer
}

func startEmbedded(o embeddedOptions) (*embedded, error) {
	e := &embedded{dataDir: o.dataDir}
	if e.dataDir == "" {
		dir, err := os.MkdirTemp("", "kappa-run-")
		if err != nil {
			return nil, fmt.Errorf("cannot create a data dir: %w", err)
		}
		e.dataDir, e.temp = dir, true
	}
	store, err := checkpoint.OpenDir(filepath.Join(e.dataDir, "store"))
	if err != nil {
		e.Close()
		return nil, err
	}
	e.platform, err = local.New(local.Config{
		Python:      o.python,
		Concurrency: o.concurrency,
		Timeout:     o.lambdaTimeout,
		Logger:      o.logger,
		LogSink:     o.logSink,
	})
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("local lambda platform: %w", err)
	}
	e.node, err = node.Start(node.Config{
		NodeID:        "embedded",
		DataDir:       filepath.Join(e.dataDir, "node"),
		APIAddr:       "127.0.0.1:0",
		Bootstrap:     true,
		Invoker:       e.platform,
		LambdaTimeout: o.lambdaTimeout,
		Store:         store,
		Logger:        o.logger,
		RaftLog:       o.raftLog,
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.node.WaitLeader(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops everything and removes a temporary data dir.
func (e *embedded) Close() {
	if e.node != nil {
		e.node.Close()
	}
	if e.platform != nil {
		e.platform.Close()
	}
	if e.temp {
		os.RemoveAll(e.dataDir)
	}
}
