package main

import (
	"context"
	"errors"
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

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

type runOptions struct {
	cluster     string
	event       string
	dataDir     string
	maxLaunches uint32
	priority    uint32
	quiet       bool
	verbose     bool
	detach      bool
	lambda      lambdaOptions
	bundle      checkpoint.BundleOptions
	autoPause   time.Duration
	raftLog     string
	conn        connFlags
}

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run PROGRAM.py|PROGRAM_DIR",
		Short: "Run a program's handler(event, context) to its result on the embedded default",
		Long: `Runs the program's handler(event, context) as a Kappa job. A program is a
.py file, or a directory whose entry module is main.py, with its own
modules and packages beside it and optionally a requirements.txt that
workers install (pip install --target, cached per requirements). With no cluster
address it starts the embedded default (an in-process one-node cluster, the
local lambda platform and a directory store), shows progress on stderr,
prints the result as JSON on stdout and exits 0; a failing program exits 1
with its traceback.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return run(args[0], o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.cluster, "cluster", os.Getenv("KAPPA_CLUSTER"), "submit to a running cluster at HOST:PORT[,HOST:PORT…] (default $KAPPA_CLUSTER) instead of the embedded default")
	f.StringVar(&o.event, "event", "{}", "the event handed to handler(event, context), as JSON, or @FILE to read it from a file")
	f.StringVar(&o.dataDir, "data-dir", "", "keep Raft state and checkpoints here (default: a temporary dir, removed at exit)")
	f.Uint32Var(&o.maxLaunches, "max-launches", 0, fmt.Sprintf("launches of a task without a new checkpoint before it fails (0: default %d)", fsm.DefaultMaxLaunches))
	f.Uint32Var(&o.priority, "priority", 1, fmt.Sprintf("with --cluster, the job's share of lambda launches against other jobs' (1..%d): priority 3 gets three launches for each one of a priority-1 job while both have tasks waiting", fsm.MaxPriority))
	f.BoolVar(&o.quiet, "quiet", false, "hide the program's own output")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log what the coordinator does")
	f.BoolVar(&o.detach, "detach", false, "with --cluster: print the job id once it is submitted and return (follow it with `kappa jobs wait`)")
	f.BoolVar(&o.bundle.NoAutoPauses, "no-auto-pauses", false, noAutoPausesHelp+" (for this job)")
	f.DurationVar(&o.autoPause, "auto-checkpoint", node.DefaultConfig().Worker.AutoPause, "automatic checkpoint interval of the embedded default's workers")
	// The embedded default's log is new (or a kept --data-dir keeps its
	// own format), so it takes the faster WAL; servers keep Bolt by default.
	f.StringVar(&o.raftLog, "raft-log-format", node.RaftLogWAL, "the embedded default's Raft log format for a new data dir: wal (one fsync per append) or bolt; a kept --data-dir keeps its own")
	o.lambda.register(cmd)
	o.conn.register(f)
	return cmd
}

func run(program string, o runOptions) error {
	event := []byte(o.event)
	if name, ok := strings.CutPrefix(o.event, "@"); ok {
		var err error
		if event, err = os.ReadFile(name); err != nil {
			return usageError("--event %s: %v", o.event, err)
		}
	}
	if err := node.EventJSONError(event); err != nil {
		return usageError("--event: %v", err)
	}
	if o.priority < 1 || o.priority > fsm.MaxPriority {
		return usageError("--priority must be between 1 and %d, got %d", fsm.MaxPriority, o.priority)
	}
	if o.lambda.timeout <= 0 {
		return usageError("--lambda-timeout must be positive, got %s", o.lambda.timeout)
	}
	if o.autoPause <= 0 {
		return usageError("--auto-checkpoint must be positive, got %s", o.autoPause)
	}
	if err := node.ValidRaftLogFormat(o.raftLog); err != nil {
		return usageError("%v", err)
	}
	if o.detach && o.cluster == "" {
		return usageError("--detach needs --cluster (or $KAPPA_CLUSTER): the embedded default stops when kappa run returns")
	}
	bundle, _, err := checkpoint.BuildBundleWith(program, o.bundle)
	if err != nil {
		return usageError("%v", err)
	}
	python := pythonPath(o.lambda.python)
	// The embedded default's workers run python: check it (alongside the
	// compile) before anything starts.
	workerPython := make(chan error, 1)
	if o.cluster == "" {
		go func() { workerPython <- checkWorkerPython(python) }()
	} else {
		workerPython <- nil
	}
	// Compile before anything starts, so a bad program is one clear line.
	if err := checkProgram(python, program, bundle, o.bundle.NoAutoPauses); err != nil {
		var ee *exitError
		if o.cluster == "" || !errors.As(err, &ee) || !strings.Contains(ee.msg, "not installed") {
			if werr := <-workerPython; werr != nil {
				return werr // the cause of both
			}
			return err
		}
		// Submitting to a cluster needs no local Python: the workers compile.
	}
	if err := <-workerPython; err != nil {
		return err
	}

	// The embedded default listens on loopback only, in plaintext.
	opts := []grpc.DialOption{kappaclient.Insecure()}
	if o.cluster != "" {
		if opts, err = o.conn.options(30 * time.Second); err != nil {
			return err
		}
	}
	view := newProgressView(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addrs := strings.Split(o.cluster, ",")
	if o.cluster == "" {
		e, err := startEmbedded(embeddedFor(o, view))
		if err != nil {
			return err
		}
		defer e.Close()
		addrs = []string{e.node.APIAddr()}
		opts = append(opts, kappaclient.Token(e.token))
	}
	c, err := kappaclient.New(addrs, opts...)
	if err != nil {
		return usageError("%v", err)
	}
	defer c.Close()
	sub := &wire.SubmitJobRequest{ProgramBundle: bundle, EventJson: event, Name: program, MaxLaunches: o.maxLaunches}
	if o.priority > 1 && o.cluster != "" {
		// Only a cluster shares its lambdas among jobs; one of an older
		// version knows no priorities.
		sub.Priority = o.priority
	}
	if o.detach {
		res, err := c.SubmitJob(ctx, sub)
		if err != nil {
			return interrupted(ctx, fmt.Errorf("submitting the job: %w", err))
		}
		fmt.Printf("j%d\n", res.GetJobId())
		return nil
	}
	st, err := submitAndWatch(ctx, c, sub, view)
	if err != nil {
		return err
	}
	return jobOutcome(ctx, c, st)
}

// jobOutcome is how kappa run and kappa jobs wait end: a succeeded job's
// result as JSON on stdout (exit 0; a result stored by key is fetched), a
// failed or cancelled job's error (exit 1).
func jobOutcome(ctx context.Context, c *kappaclient.Client, st *wire.JobStatus) error {
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		return &exitError{code: exitFailed, msg: "job failed: " + st.GetError()}
	}
	result, err := c.Result(ctx, st)
	if err != nil {
		return interrupted(ctx, err)
	}
	os.Stdout.Write(append(result, '\n'))
	return nil
}

// checkProgram compiles a program the way workers will: a file with
// `python -m kappa check`, a directory's bundle with every module.
func checkProgram(python, program string, bundle []byte, noAutoPauses bool) error {
	if info, err := os.Stat(program); err == nil && info.IsDir() {
		_, err := runPythonModule(python, "kappa.worker.check", bundle)
		return err
	}
	_, err := runPythonKappa(python, compileArgs("check", program, noAutoPauses)...)
	return err
}

// embeddedFor configures the embedded default for a run.
func embeddedFor(o runOptions, view *progressView) embeddedOptions {
	level, raftLevel := slog.LevelWarn, "error"
	if o.verbose {
		level, raftLevel = slog.LevelDebug, "debug"
	}
	opts := embeddedOptions{
		dataDir: o.dataDir, lambda: o.lambda, raftLog: io.Writer(view), raftLogL: raftLevel, autoPause: o.autoPause,
		raftLogFormat: o.raftLog,
		logger:        slog.New(slog.NewTextHandler(view, &slog.HandlerOptions{Level: level})),
	}
	if !o.quiet {
		opts.lambda.logSink = func(_ string, _ string, line []byte) { view.programLine(line) }
	}
	return opts
}

// submitAndWatch submits the program and follows the job to its end,
// across leader changes and node failures.
func submitAndWatch(ctx context.Context, c *kappaclient.Client, req *wire.SubmitJobRequest, view *progressView) (*wire.JobStatus, error) {
	sub, err := c.SubmitJob(ctx, req)
	if err != nil {
		return nil, interrupted(ctx, fmt.Errorf("submitting the job: %s", message(err)))
	}
	notes := followNotes(ctx, c, sub.GetJobId(), view)
	last, err := c.Watch(ctx, sub.GetJobId(), view.update)
	notes()
	view.done(last)
	if err != nil {
		return nil, interrupted(ctx, fmt.Errorf("watching job j%d: %w", sub.GetJobId(), err))
	}
	return last, nil
}

// followNotes prints, above the progress line, each leader change the job
// lives through and each relaunch of a task whose lambda was lost, from
// the job's history. The returned func waits (briefly) for the history's
// end once the job finished, then stops following.
func followNotes(ctx context.Context, c *kappaclient.Client, job uint64, view *progressView) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var submitted int64
		// A cluster that keeps no histories (older voters) just says nothing.
		_ = c.Events(ctx, job, 0, true, func(r *wire.JobEventsResponse) {
			for _, line := range runNotes(job, r, &submitted) {
				view.above(line + "\n")
			}
		})
	}()
	return func() {
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		cancel()
		<-done
	}
}

// interrupted turns an error caused by Ctrl-C into exit code 130.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted, msg: "interrupted"}
	}
	return err
}
