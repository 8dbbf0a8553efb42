package local

import (
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// LogSink receives each line a worker prints on stdout or stderr. requestID
// is the invocation running at that moment ("" between invocations); stream
// is "stdout" or "stderr". It is called from the pipe readers, so it must not
// block for long; line is a fresh copy the sink may keep.
type LogSink func(requestID string, stream string, line []byte)

// Config tunes a Platform. Zero values take the defaults noted.
type Config struct {
	Python  string   // interpreter; default "python3"
	Handler string   // "module:function" the worker imports; default "kappa.worker.handler:handler"
	Env     []string // extra environment, on top of this process's; PYTHONHASHSEED=0 and PYTHONUNBUFFERED=1 always win
	Dir     string   // working directory of workers; default this process's

	Concurrency int           // invocations running at once; default 8
	Timeout     time.Duration // default invocation timeout; default 15m
	IdleTTL     time.Duration // an idle warm worker is stopped after this; default 60s
	MaxWarm     int           // idle workers kept; 0 = Concurrency, negative = none (every start is cold)
	// Provisioned workers are started when the platform starts, before any
	// invocation, and wait warm (as Lambda's provisioned concurrency does),
	// so the first invocations of a run pay no cold start. They stay in the
	// idle pool like any warm worker (stopped after IdleTTL unused). At most
	// min(Concurrency, MaxWarm); 0 = none.
	Provisioned int
	// StartTimeout bounds a cold start (interpreter start-up and handler
	// import, which do not count against the invocation's timeout); default 60s.
	StartTimeout time.Duration

	// Throttle makes an invocation beyond Concurrency fail at once with
	// ErrThrottled, as Lambda does, instead of waiting for a slot. The Lambda
	// Invoke API front wants this; in-process callers usually prefer waiting.
	Throttle bool
	// MemoryMB is the function's memory size: the handler sees it as
	// context.memory_limit_in_mb, and it is enforced, best effort, as the
	// worker's address-space limit (memlimit_linux.go). 0 = no limit.
	MemoryMB int
	// Faults injects duplicate deliveries and dropped responses (tests only).
	Faults Faults

	Logger  *slog.Logger // default slog.Default()
	LogSink LogSink      // optional
}

const (
	defaultPython       = "python3"
	defaultHandler      = "kappa.worker.handler:handler"
	defaultConcurrency  = lambda.DefaultConcurrency
	defaultTimeout      = lambda.DefaultTimeout
	defaultIdleTTL      = 60 * time.Second
	defaultStartTimeout = 60 * time.Second
)

// withDefaults fills zero fields and rejects values that cannot work, so the
// error shows at New rather than at the first invocation.
func (c Config) withDefaults() (Config, error) {
	if c.Python == "" {
		c.Python = defaultPython
	}
	if c.Handler == "" {
		c.Handler = defaultHandler
	}
	if c.Concurrency == 0 {
		c.Concurrency = defaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.IdleTTL == 0 {
		c.IdleTTL = defaultIdleTTL
	}
	if c.MaxWarm == 0 {
		c.MaxWarm = c.Concurrency
	}
	if c.MaxWarm < 0 {
		c.MaxWarm = 0
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = defaultStartTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	if c.Timeout < 0 || c.IdleTTL < 0 || c.StartTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if c.Provisioned < 0 {
		errs = append(errs, fmt.Errorf("provisioned concurrency %d is negative", c.Provisioned))
	}
	c.Provisioned = min(c.Provisioned, c.Concurrency, c.MaxWarm)
	if c.MemoryMB < 0 {
		errs = append(errs, fmt.Errorf("memory size %d MB is negative", c.MemoryMB))
	}
	if err := c.Faults.check(); err != nil {
		errs = append(errs, err)
	}
	if mod, fn, ok := strings.Cut(c.Handler, ":"); !ok || mod == "" || fn == "" {
		errs = append(errs, fmt.Errorf("handler %q is not \"module:function\"", c.Handler))
	}
	if _, err := exec.LookPath(c.Python); err != nil {
		errs = append(errs, fmt.Errorf("python interpreter: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("local lambda config: %w", err)
	}
	return c, nil
}

// workerEnv is the environment of every worker: the given extras, then the
// settings workers rely on (fixed hash seed for reproducible checkpoints,
// unbuffered output so logs are attributed to the right invocation), then
// the memory size as Lambda's runtime publishes it.
func (c Config) workerEnv(base []string) []string {
	env := append(append([]string(nil), base...), c.Env...)
	env = append(env, "PYTHONHASHSEED=0", "PYTHONUNBUFFERED=1")
	if c.MemoryMB > 0 {
		// Fewer malloc arenas: each reserves address space that the limit
		// would count although the worker never touches it.
		env = append(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(c.MemoryMB), "MALLOC_ARENA_MAX=2")
	}
	return env
}
