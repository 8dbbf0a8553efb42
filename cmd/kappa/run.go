package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kappa-serverless/kappa/checkpoint"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

type runOptions struct {
	event         string
	lambdaTimeout time.Duration
	dataDir       string
	python        string
	concurrency   int
	maxLaunches   uint32
	quiet         bool
	verbose       bool
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run PROGRAM.py",
		Short: "Run a program's handler(event, context) to its result on the embedded default",
		Long: `Runs PROGRAM.py's handler(event, context) as a Kappa job. With no cluster
address it starts the embedded default (an in-process one-node cluster, the
local lambda platform and a directory store), shows progress on stderr,
prints the result as JSON on stdout and exits 0; a failing program exits 1
with its traceback.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return run(args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.event, "event", "{}", "the event handed to handler(event, context), as JSON")
	f.DurationVar(&o.lambdaTimeout, "lambda-timeout", 15*time.Minute, "time limit of each lambda invocation")
	f.StringVar(&o.dataDir, "data-dir", "", "keep Raft state and checkpoints here (default: a temporary dir, removed at exit)")
	f.StringVar(&o.python, "python", "", "Python interpreter with the kappa package (default $KAPPA_PYTHON or python3)")
	f.IntVar(&o.concurrency, "concurrency", 8, "lambdas running at once on the local platform")
	f.Uint32Var(&o.maxLaunches, "max-launches", 0, "launches of a task without a new checkpoint before it fails (0: default 8)")
	f.BoolVar(&o.quiet, "quiet", false, "hide the program's own output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log what the coordinator does")
	return cmd
}

func run(program string, o runOptions) error {
	if !json.Valid([]byte(o.event)) {
		return usageError("--event is not valid JSON: %s", o.event)
	}
	if o.lambdaTimeout <= 0 {
		return usageError("--lambda-timeout must be positive, got %s", o.lambdaTimeout)
	}
	bundle, _, err := checkpoint.BuildBundle(program)
	if err != nil {
		return usageError("%v", err)
	}
	python := pythonPath(o.python)
	// Compile before anything starts, so a bad program is one clear line.
	if _, err := runPythonKappa(python, "check", program); err != nil {
		return err
	}

	view := newProgressView(os.Stderr)
	level, raftLog := slog.LevelWarn, io.Discard
	if o.verbose {
		level, raftLog = slog.LevelDebug, io.Writer(view)
	}
	logger := slog.New(slog.NewTextHandler(view, &slog.HandlerOptions{Level: level}))
	opts := embeddedOptions{
		dataDir: o.dataDir, python: python, lambdaTimeout: o.lambdaTimeout,
		concurrency: o.concurrency, logger: logger, raftLog: raftLog,
	}
	if !o.quiet {
		opts.logSink = func(_ string, _ string, line []byte) { view.programLine(line) }
	}
	e, err := startEmbedded(opts)
	if err != nil {
		return err
	}
	defer e.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := submitAndWatch(ctx, e.node.APIAddr(), bundle, []byte(o.event), program, o.maxLaunches, view)
	if err != nil {
		return err
	}
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		return &exitError{code: 1, msg: "job failed: " + st.GetError()}
	}
	fmt.Println(st.GetResultJson())
	return nil
}

// submitAndWatch submits the program and follows the job to its end.
func submitAndWatch(ctx context.Context, addr string, bundle, event []byte, name string, maxLaunches uint32, view *progressView) (*wire.JobStatus, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	client := wire.NewClientServiceClient(conn)
	sub, err := client.SubmitJob(ctx, &wire.SubmitJobRequest{
		ClientId: newClientID(), RequestId: 1, ProgramBundle: bundle, EventJson: event, Name: name, MaxLaunches: maxLaunches,
	})
	if err != nil {
		return nil, fmt.Errorf("submitting the job: %w", err)
	}
	stream, err := client.WatchJob(ctx, &wire.WatchJobRequest{JobId: sub.GetJobId()})
	if err != nil {
		return nil, fmt.Errorf("watching job j%d: %w", sub.GetJobId(), err)
	}
	var last *wire.JobStatus
	for {
		st, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, &exitError{code: 130, msg: "interrupted"}
			}
			return nil, fmt.Errorf("watching job j%d: %w", sub.GetJobId(), err)
		}
		last = st
		view.update(st)
	}
	view.done(last)
	if last == nil {
		return nil, fmt.Errorf("job j%d: the watch ended without a status", sub.GetJobId())
	}
	return last, nil
}

func newClientID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return strings.ReplaceAll(host, " ", "_") + "-" + hex.EncodeToString(b[:])
}
