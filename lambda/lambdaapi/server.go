package lambdaapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// Config tunes a Server. Zero values take the defaults noted.
type Config struct {
	// Functions are the functions served, by name. The server does not own
	// them: the caller closes them after the server. Create them with
	// local.Config.Throttle set to answer a full concurrency limit with 429
	// as Lambda does; without it, invocations wait for a slot.
	Functions map[string]*local.Platform
	// Region and AccountID appear in ARNs and error messages; defaults
	// "local" and "000000000000", as in the worker's invoked_function_arn.
	Region    string
	AccountID string
	// MaxEventAge bounds how long an Event invocation is retried while
	// throttled before it is dropped (logged); default 6h, Lambda's.
	MaxEventAge time.Duration
	// ShutdownGrace is how long Serve lets running requests finish once its
	// context ends; default 5s.
	ShutdownGrace time.Duration
	Logger        *slog.Logger // default slog.Default()
	// Credentials: every request must be signed with them (AWS Signature
	// Version 4), or is answered 403 as Lambda does. Required unless
	// AllowUnsigned.
	Credentials *Credentials
	// AllowUnsigned serves anyone who reaches the port (`kappa lambda-local
	// --insecure`, tests).
	AllowUnsigned bool
	// TLS, when set, makes Serve and ListenAndServe speak HTTPS.
	TLS *tls.Config
}

const (
	defaultRegion        = "local"
	defaultAccountID     = "000000000000"
	defaultMaxEventAge   = 6 * time.Hour
	defaultShutdownGrace = 5 * time.Second
)

// functionName is Lambda's rule for function names.
var functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Server answers Lambda Invoke API requests for local functions. It is an
// http.Handler; Serve and ListenAndServe run it standalone.
type Server struct {
	cfg    Config
	mux    *http.ServeMux
	ctx    context.Context // ends at Close: stops invocations and queued events
	cancel context.CancelFunc
	events sync.WaitGroup // Event invocations in the background

	mu      sync.Mutex
	closing bool // no new events once set
}

// NewServer checks cfg and returns a server for its functions.
func NewServer(cfg Config) (*Server, error) {
	if len(cfg.Functions) == 0 {
		return nil, errors.New("lambda API: no functions to serve")
	}
	switch c := cfg.Credentials; {
	case c == nil && !cfg.AllowUnsigned:
		return nil, errors.New("lambda API: no credentials to check signatures with (or allow unsigned requests explicitly)")
	case c != nil && (c.AccessKeyID == "" || c.SecretAccessKey == ""):
		return nil, errors.New("lambda API: the credentials need both an access key id and a secret access key")
	}
	for name, p := range cfg.Functions {
		if !functionName.MatchString(name) {
			return nil, fmt.Errorf("lambda API: %q is not a valid function name (1-64 letters, digits, - or _)", name)
		}
		if p == nil {
			return nil, fmt.Errorf("lambda API: function %q has no platform", name)
		}
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = defaultAccountID
	}
	if cfg.MaxEventAge <= 0 {
		cfg.MaxEventAge = defaultMaxEventAge
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = defaultShutdownGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.invoke)
	s.mux.HandleFunc("GET "+WorkersPath, s.workers)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		unknownOperation(r.Method, r.URL.Path).write(w, lambda.NewRequestID())
	})
	return s, nil
}

// ServeHTTP authenticates the request (when Credentials are set), then
// answers it. The body is read here, within Lambda's largest limit, since
// the signature covers it; handlers read it again from r.Body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Credentials != nil {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSyncPayload))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			tooLarge(maxSyncPayload).write(w, lambda.NewRequestID())
			return
		case err != nil:
			invalidContent(err).write(w, lambda.NewRequestID())
			return
		}
		if apiErr := verifySignature(*s.cfg.Credentials, r, body, time.Now()); apiErr != nil {
			s.cfg.Logger.Warn("lambda API refused a request it could not authenticate", "from", r.RemoteAddr,
				"path", r.URL.Path, "reason", apiErr.code)
			apiErr.write(w, lambda.NewRequestID())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.mux.ServeHTTP(w, r)
}

// ListenAndServe listens on addr (HOST:PORT) and serves until ctx ends; see
// Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("lambda API: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve answers requests on ln until ctx ends, then lets running requests
// finish for up to ShutdownGrace and closes the server (see Close). It
// returns nil after a shutdown by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, TLSConfig: s.cfg.TLS}
	s.cfg.Logger.Info("lambda API serving", "addr", ln.Addr().String(), "functions", len(s.cfg.Functions),
		"https", s.cfg.TLS != nil, "signed", s.cfg.Credentials != nil)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS != nil {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("lambda API: %w", err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(grace); err != nil {
		hs.Close()
	}
	s.Close()
	<-errc
	return nil
}

// Close ends running invocations and queued Event invocations, and waits
// for the event runners. The functions' platforms stay open.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	s.events.Wait()
}

// arn is the function's ARN as Lambda spells it in messages.
func (s *Server) arn(name, qualifier string) string {
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.cfg.Region, s.cfg.AccountID, name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}
