package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/awslambda"
	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/lambda/local"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
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
	provisioned int
	memoryMB    int
	python      string
	logger      *slog.Logger
	logSink     local.LogSink
	faults      local.Faults // test mode of the local platform
	// An Invoke API URL's credentials and, for https, the CA to trust
	// (the node's certs; nil: the system's roots).
	creds invokeCredentials
	certs *tlsconf.Certs
}

func (o *lambdaOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	d := node.DefaultConfig()
	f.StringVar(&o.backend, "lambda", "local", `where lambdas run: "local" (in-process local platform), an Invoke API URL such as http://127.0.0.1:9001 (kappa lambda-local), or "aws"`)
	f.StringVar(&o.function, "function", d.Function, "the worker function's name (or ARN)")
	f.StringVar(&o.region, "region", "", "AWS region of the function (with --lambda aws)")
	f.DurationVar(&o.timeout, "lambda-timeout", d.LambdaTimeout, "time limit of each lambda invocation")
	f.IntVar(&o.concurrency, "concurrency", d.MaxInvocations, "lambdas running at once (local platform)")
	f.IntVar(&o.provisioned, "provisioned", 0, "workers the local platform starts warm before the first invocation, as Lambda's provisioned concurrency (at most --concurrency)")
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
		cfg := awslambda.Config{Function: o.function, Region: o.region, Logger: o.logger}
		creds, err := o.creds.resolve()
		if err != nil {
			return nil, err
		}
		if creds != nil {
			cfg.Credentials = staticProvider(creds)
		}
		inv, err := awslambda.New(context.Background(), cfg)
		if err != nil {
			return nil, fmt.Errorf("AWS Lambda: %w", err)
		}
		return &lambdas{invoker: inv, close: func() {}}, nil
	case strings.HasPrefix(o.backend, "http://") || strings.HasPrefix(o.backend, "https://"):
		creds, err := o.creds.resolve()
		if err != nil {
			return nil, err
		}
		tlsCfg, err := lambdaEndpointTLS(o.backend, o.certs, creds)
		if err != nil {
			return nil, err
		}
		inv, err := sdkInvoker(o, o.backend, creds, tlsCfg)
		if err != nil {
			return nil, err
		}
		return &lambdas{invoker: inv, close: func() {}}, nil
	}
	return nil, usageError(`--lambda %q: want "local", "aws" or an Invoke API URL like http://127.0.0.1:9001`, o.backend)
}

// sdkInvoker invokes through the Invoke API at endpoint, signing with
// creds (nil: dummy credentials, for an API that checks none) and over
// tlsCfg for https.
func sdkInvoker(o lambdaOptions, endpoint string, creds *lambdaapi.Credentials, tlsCfg *tls.Config) (lambda.Invoker, error) {
	cfg := awslambda.Config{
		Function: o.function, Region: o.region, Endpoint: endpoint, Timeout: o.timeout + 30*time.Second, Logger: o.logger, TLS: tlsCfg,
	}
	if creds != nil {
		cfg.Credentials = staticProvider(creds)
	}
	inv, err := awslambda.New(context.Background(), cfg)
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
	// Loopback, but signed: no other local user may invoke it.
	creds := randomCredentials()
	srv, fns, err := localInvokeAPI(o, invokeAPI{creds: creds})
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
	inv, err := sdkInvoker(o, "http://"+ln.Addr().String(), creds, nil)
	stop := func() { cancel(); srv.Close(); <-done; lambdaapi.CloseFunctions(fns) }
	if err != nil {
		stop()
		return nil, err
	}
	return &lambdas{invoker: inv, close: stop}, nil
}

// invokeAPI is how the local platform's Invoke API is served: throttling
// at the concurrency limit (as Lambda does) or waiting for a slot, the
// credentials it checks (nil: none, only with --insecure), and its TLS.
type invokeAPI struct {
	throttle bool
	creds    *lambdaapi.Credentials
	tls      *tls.Config
}

func localInvokeAPI(o lambdaOptions, api invokeAPI) (*lambdaapi.Server, map[string]*local.Platform, error) {
	p, err := local.New(local.Config{
		Python: pythonPath(o.python), Concurrency: o.concurrency, Provisioned: o.provisioned, Timeout: o.timeout, MemoryMB: o.memoryMB,
		Logger: o.logger, LogSink: o.logSink, Throttle: api.throttle, Faults: o.faults,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("local lambda platform: %w", err)
	}
	fns := map[string]*local.Platform{o.function: p}
	srv, err := lambdaapi.NewServer(lambdaapi.Config{Functions: fns, Logger: o.logger, Credentials: api.creds, AllowUnsigned: api.creds == nil, TLS: api.tls})
	if err != nil {
		lambdaapi.CloseFunctions(fns)
		return nil, nil, err
	}
	return srv, fns, nil
}

func newLambdaLocalCmd() *cobra.Command {
	var o lambdaOptions
	var addr, level, logFormat, certsDir string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "lambda-local --addr HOST:PORT --certs-dir DIR --access-key-id ID --secret-access-key-file FILE",
		Short: "Serve the local lambda platform through the AWS Lambda Invoke API",
		Long: `Runs Kappa's local lambda platform standalone, answering the Lambda Invoke
API (POST /2015-03-31/functions/NAME/invocations) as AWS Lambda does, so
coordinators reach it with --lambda https://HOST:PORT and lambdas survive the
death of any coordinator node. It serves HTTPS with lambda.crt of --certs-dir
(kappa cert create-lambda) and runs only requests signed (AWS Signature
Version 4) with the configured access key, as Lambda does; coordinators sign
with the same --access-key-id and --secret-access-key-file. --insecure serves
plain HTTP to anyone, on loopback only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := lambdaLocalSecurity(addr, certsDir, insecure, &o.creds)
			if err != nil {
				return err
			}
			if err := checkWorkerPython(pythonPath(o.python)); err != nil {
				return err
			}
			if o.logger, _, err = newLogger(level, logFormat); err != nil {
				return err
			}
			if insecure {
				o.logger.Warn("INSECURE: serving the Invoke API over plain HTTP without checking signatures: anyone who reaches " + addr + " runs code as this user")
			}
			srv, fns, err := localInvokeAPI(o, api)
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
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "text or json (one object a line: time, level, msg, then fields)")
	cmd.Flags().StringVar(&certsDir, "certs-dir", "", "certs dir with ca.crt and lambda.crt/lambda.key (kappa cert create-lambda)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "serve plain HTTP and run unsigned requests (loopback addresses only)")
	o.creds.register(cmd.Flags(), "requests must be signed with it")
	return cmd
}

// lambdaLocalSecurity is how lambda-local serves: HTTPS and signatures, or
// (--insecure, on loopback) neither.
func lambdaLocalSecurity(addr, certsDir string, insecure bool, c *invokeCredentials) (invokeAPI, error) {
	api := invokeAPI{throttle: true}
	if insecure {
		if certsDir != "" || c.keyID != "" {
			return api, usageError("--insecure excludes --certs-dir and --access-key-id")
		}
		return api, loopbackOnly("--addr", addr, "--insecure serves the Invoke API to anyone in plain HTTP")
	}
	if certsDir == "" {
		return api, usageError("lambda-local serves HTTPS: pass --certs-dir DIR (ca.crt, lambda.crt, lambda.key; `kappa cert create-lambda`), or --insecure on a loopback address")
	}
	certs, err := tlsconf.Load(certsDir)
	if err != nil {
		return api, usageError("--certs-dir: %v", err)
	}
	if api.tls, err = certs.ServerConfig(tlsconf.LambdaPair, tls.NoClientCert); err != nil {
		return api, usageError("--certs-dir: %v", err)
	}
	if api.creds, err = c.resolve(); err != nil {
		return api, err
	}
	if api.creds == nil {
		return api, usageError("lambda-local checks every request's signature: pass --access-key-id and --secret-access-key-file (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or --insecure on a loopback address")
	}
	return api, nil
}

// staticProvider signs with fixed credentials.
func staticProvider(c *lambdaapi.Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")
}
