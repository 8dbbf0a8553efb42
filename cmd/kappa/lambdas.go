package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/awslambda"
	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/lambda/local"
	"github.com/kappa-serverless/kappa/node"
)

// lambdaOptions choose where lambdas run. The coordinator always invokes
// them through aws-sdk-go-v2's Lambda client: "local" starts the local
// platform in process behind the Lambda Invoke API on a loopback port; a
// URL names a Lambda API endpoint (e.g. `kappa lambda-local`); "aws" is
// AWS Lambda itself.
type lambdaOptions struct {
	backend     string
	function    string
	region      string
	timeout     time.Duration
	concurrency int
	memoryMB    int
	python      string
	logger      *slog.Logger
	logSink     local.LogSink
	faults      local.Faults // test mode of the local platform
}

func (o *lambdaOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	d := node.DefaultConfig()
	f.StringVar(&o.backend, "lambda", "local", `where lambdas run: "local" (in-process local platform), an Invoke API URL such as http://127.0.0.1:9001 (kappa lambda-local), or "aws"`)
	f.StringVar(&o.function, "function", d.Function, "the worker function's name (or ARN)")
	f.StringVar(&o.region, "region", "", "AWS region of the function (with --lambda aws)")
	f.DurationVar(&o.timeout, "lambda-timeout", d.LambdaTimeout, "time limit of each lambda invocation")
	f.IntVar(&o.concurrency, "concurrency", d.MaxInvocations, "lambdas running at once (local platform)")
	f.IntVar(&o.memoryMB, "memory", 0, "memory limit per lambda in MB (local platform; 0: none)")
	f.StringVar(&o.python, "python", "", pythonHelp)
	// Test mode: the local platform delivers invocations twice and loses
	// responses, as Lambda may; the claim rule must keep results right.
	f.Float64Var(&o.faults.Duplicate, "fault-duplicate", 0, "local platform test mode: probability an invocation is delivered twice")
	f.Float64Var(&o.faults.Drop, "fault-drop", 0, "local platform test mode: probability an invocation's response is lost")
	f.Uint64Var(&o.faults.Seed, "fault-seed", 1, "local platform test mode: seed of the fault choices")
	for _, name := range []string{"fault-duplicate", "fault-drop", "fault-seed"} {
		_ = f.MarkHidden(name)
	}
}

// lambdas is a started backend; close stops what was started in process.
// coordinator runs @on_coordinator tasks as local processes of this node.
type lambdas struct {
	invoker     lambda.Invoker
	coordinator *local.Platform
	close       func()
}

// onCoordinatorTimeout stands for "no time limit" for tasks that run on
// the coordinator instead of in lambdas.
const onCoordinatorTimeout = 100 * 365 * 24 * time.Hour

func startLambdas(o lambdaOptions) (*lambdas, error) {
	if o.timeout <= 0 {
		return nil, usageError("--lambda-timeout must be positive, got %s", o.timeout)
	}
	l, err := startBackend(o)
	if err != nil {
		return nil, err
	}
	l.coordinator, err = local.New(local.Config{Python: pythonPath(o.python), Concurrency: 64, Timeout: onCoordinatorTimeout,
		Logger: o.logger, LogSink: o.logSink})
	if err != nil {
		l.close()
		return nil, fmt.Errorf("on-coordinator tasks: %w", err)
	}
	backendClose := l.close
	l.close = func() { l.coordinator.Close(); backendClose() }
	return l, nil
}

func startBackend(o lambdaOptions) (*lambdas, error) {
	switch {
	case o.backend == "local":
		return startLocalLambdas(o)
	case o.backend == "aws":
		inv, err := awslambda.New(context.Background(), awslambda.Config{Function: o.function, Region: o.region, Logger: o.logger})
		if err != nil {
			return nil, fmt.Errorf("AWS Lambda: %w", err)
		}
		return &lambdas{invoker: inv, close: func() {}}, nil
	case strings.HasPrefix(o.backend, "http://") || strings.HasPrefix(o.backend, "https://"):
		inv, err := sdkInvoker(o, o.backend)
		if err != nil {
			return nil, err
		}
		return &lambdas{invoker: inv, close: func() {}}, nil
	}
	return nil, usageError(`--lambda %q: want "local", "aws" or an Invoke API URL like http://127.0.0.1:9001`, o.backend)
}

func sdkInvoker(o lambdaOptions, endpoint string) (lambda.Invoker, error) {
	inv, err := awslambda.New(context.Background(), awslambda.Config{
		Function: o.function, Region: o.region, Endpoint: endpoint, Timeout: o.timeout + 30*time.Second, Logger: o.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("lambda endpoint %s: %w", endpoint, err)
	}
	return inv, nil
}

// startLocalLambdas serves the local platform on a loopback port through
// the Invoke API, as `kappa lambda-local` does, except that an invocation
// beyond the concurrency limit waits for a slot instead of being throttled:
// the only caller is this process's leader, which already bounds its
// invocations, and a throttle would only cost it a backoff.
func startLocalLambdas(o lambdaOptions) (*lambdas, error) {
	srv, fns, err := localInvokeAPI(o, false)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lambdaapi.CloseFunctions(fns)
		return nil, fmt.Errorf("local lambda platform: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	inv, err := sdkInvoker(o, "http://"+ln.Addr().String())
	stop := func() { cancel(); srv.Close(); <-done; lambdaapi.CloseFunctions(fns) }
	if err != nil {
		stop()
		return nil, err
	}
	return &lambdas{invoker: inv, close: stop}, nil
}

func localInvokeAPI(o lambdaOptions, throttle bool) (*lambdaapi.Server, map[string]*local.Platform, error) {
	p, err := local.New(local.Config{
		Python: pythonPath(o.python), Concurrency: o.concurrency, Timeout: o.timeout, MemoryMB: o.memoryMB,
		Logger: o.logger, LogSink: o.logSink, Throttle: throttle, Faults: o.faults,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("local lambda platform: %w", err)
	}
	fns := map[string]*local.Platform{o.function: p}
	srv, err := lambdaapi.NewServer(lambdaapi.Config{Functions: fns, Logger: o.logger})
	if err != nil {
		lambdaapi.CloseFunctions(fns)
		return nil, nil, err
	}
	return srv, fns, nil
}

func newLambdaLocalCmd() *cobra.Command {
	var o lambdaOptions
	var addr, level string
	cmd := &cobra.Command{
		Use:   "lambda-local --addr HOST:PORT",
		Short: "Serve the local lambda platform through the AWS Lambda Invoke API",
		Long: `Runs Kappa's local lambda platform standalone, answering the Lambda Invoke
API (POST /2015-03-31/functions/NAME/invocations) as AWS Lambda does, so
coordinators reach it with --lambda http://HOST:PORT and lambdas survive the
death of any coordinator node.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkWorkerPython(pythonPath(o.python)); err != nil {
				return err
			}
			o.logger = newLogger(level)
			srv, fns, err := localInvokeAPI(o, true)
			if err != nil {
				return err
			}
			defer lambdaapi.CloseFunctions(fns)
			ctx, stop := signalContext()
			defer stop()
			o.logger.Info("serving the Lambda Invoke API", "addr", addr, "function", o.function, "timeout", o.timeout, "concurrency", o.concurrency)
			return srv.ListenAndServe(ctx, addr)
		},
	}
	o.register(cmd)
	cmd.Flags().Lookup("lambda").Hidden = true
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:9001", "address to serve the Invoke API on")
	cmd.Flags().StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}
