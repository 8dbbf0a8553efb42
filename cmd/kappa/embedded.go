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
	"github.com/kappa-serverless/kappa/node"
)

// embedded is the embedded default: an in-process single-node cluster, the
// local lambda platform (behind the Lambda Invoke API on a loopback port)
// and the directory store, all under one data dir.
type embedded struct {
	lambdas *lambdas
	node    *node.Node
	dataDir string
	temp    bool
	// token is the one admin token the embedded node admits, held only
	// in this process: other local users reach the loopback port but
	// cannot use it (and tasks need their own task secrets).
	token string
}

type embeddedOptions struct {
	dataDir  string
	lambda   lambdaOptions
	logger   *slog.Logger
	raftLog  io.Writer
	raftLogL string
	// autoPause is the workers' automatic checkpoint interval (0: the node's default).
	autoPause time.Duration
	// raftLogFormat is the node's Raft log format for a new data dir.
	raftLogFormat string
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
	// The key file lives with the data dir: a kept --data-dir reopens its
	// checkpoints with the keys that signed them.
	keys, err := checkpoint.EnsureKeyFile(filepath.Join(e.dataDir, "cluster.keys"))
	if err != nil {
		e.Close()
		return nil, err
	}
	o.lambda.logger = o.logger
	if e.lambdas, err = startLambdas(o.lambda); err != nil {
		e.Close()
		return nil, err
	}
	if e.token, _, err = node.NewToken("kappa-run", node.RoleAdmin); err != nil {
		e.Close()
		return nil, err
	}
	e.node, err = node.Start(node.Config{
		Tokens:             []node.Token{node.TokenOf(e.token, node.RoleAdmin, "kappa-run")},
		NodeID:             "embedded",
		DataDir:            filepath.Join(e.dataDir, "node"),
		APIAddr:            "127.0.0.1:0",
		Bootstrap:          true,
		Invoker:            e.lambdas.invoker,
		CoordinatorInvoker: e.lambdas.coordinator,
		MaxInvocations:     o.lambda.concurrency,
		Function:           o.lambda.function,
		LambdaTimeout:      o.lambda.timeout,
		Store:              store,
		Keys:               keys,
		PerNodeStore:       true,
		Logger:             o.logger,
		RaftLog:            o.raftLog,
		RaftLogLevel:       o.raftLogL,
		RaftLogFormat:      o.raftLogFormat,
		Worker:             node.WorkerSettings{AutoPause: o.autoPause},
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
	if e.lambdas != nil {
		e.lambdas.close()
	}
	if e.temp {
		os.RemoveAll(e.dataDir)
	}
}
