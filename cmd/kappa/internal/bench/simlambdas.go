package bench

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// simLambdas answers the Lambda Invoke API like a lambda platform, but
// every invocation runs a simulated task in Go that speaks the real task
// API: the coordinator cannot tell, and no Python runs, so the benchmark
// measures the coordinator alone.
type simLambdas struct {
	srv  *http.Server
	addr string
	run  func(spec node.InvocationSpec)

	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	events []simEvent
}

type simEvent struct {
	spec node.InvocationSpec
	at   time.Time
}

func startSimLambdas(run func(spec node.InvocationSpec)) (*simLambdas, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &simLambdas{addr: ln.Addr().String(), run: run, conns: map[string]*grpc.ClientConn{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.invoke)}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *simLambdas) url() string { return "http://" + s.addr }

func (s *simLambdas) close() {
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *simLambdas) invoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/invocations") {
		http.Error(w, "unknown operation", http.StatusNotFound)
		return
	}
	var ev node.InvocationEvent
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, simEvent{spec: ev.Kappa, at: time.Now()})
	s.mu.Unlock()
	s.run(ev.Kappa)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Write([]byte("null"))
}

// invocationsSince lists the invocations that arrived after t.
func (s *simLambdas) invocationsSince(t time.Time) []simEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []simEvent
	for _, e := range s.events {
		if e.at.After(t) {
			out = append(out, e)
		}
	}
	return out
}

// conn is a connection to a coordinator, over TLS trusting the CA the
// invocation names, as the Python worker connects (plaintext when it names
// none).
func (s *simLambdas) conn(addr, caPEM string) *grpc.ClientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := addr + "|" + caPEM
	c := s.conns[key]
	if c == nil {
		creds := insecure.NewCredentials()
		if caPEM != "" {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(caPEM))
			creds = credentials.NewClientTLSFromCert(pool, "")
		}
		c, _ = grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
		s.conns[key] = c
	}
	return c
}

// simTask is one claimed invocation of a simulated task: it retries on
// "no leader" across every coordinator address, like the Python worker.
type simTask struct {
	s    *simLambdas
	spec node.InvocationSpec
	ref  *wire.TaskRef
	seq  uint64
	next int
}

func (s *simLambdas) claim(ctx context.Context, spec node.InvocationSpec) (*simTask, *wire.ClaimResponse, error) {
	t := &simTask{s: s, spec: spec, ref: &wire.TaskRef{JobId: spec.Job, TaskId: spec.Task, Epoch: spec.Epoch,
		Claim: fmt.Sprintf("sim-%s", spec.Invocation)}}
	var g *wire.ClaimResponse
	err := t.retry(ctx, func(ctx context.Context, c wire.TaskServiceClient) (err error) {
		g, err = c.Claim(ctx, &wire.ClaimRequest{JobId: spec.Job, TaskId: spec.Task, Epoch: spec.Epoch, InvocationId: spec.Invocation, Claim: t.ref.Claim})
		return err
	})
	if err == nil {
		t.seq = g.GetSeq()
	}
	return t, g, err
}

func (t *simTask) retry(ctx context.Context, call func(context.Context, wire.TaskServiceClient) error) error {
	for {
		addr := t.spec.Coordinator[t.next%len(t.spec.Coordinator)]
		actx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(ctx, node.TaskSecretKey, t.spec.TaskSecret), 2*time.Second)
		err := call(actx, wire.NewTaskServiceClient(t.s.conn(addr, t.spec.CAPEM)))
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !kappaclient.Retryable(err) && status.Code(err) != codes.DeadlineExceeded:
			return err
		}
		t.next++
		time.Sleep(10 * time.Millisecond)
	}
}

// call sends the next call with a (simulated) checkpoint key.
func (t *simTask) call(ctx context.Context, req *wire.CallRequest) (*wire.CallResponse, error) {
	req.Ref, req.Seq = t.ref, t.seq+1
	if req.GetExit() == nil {
		req.CheckpointKey = checkpoint.CheckpointKey(t.spec.Job, t.spec.Task, t.spec.Epoch, req.Seq)
	}
	var resp *wire.CallResponse
	err := t.retry(ctx, func(ctx context.Context, c wire.TaskServiceClient) (err error) {
		resp, err = c.Call(ctx, req)
		return err
	})
	if err == nil {
		t.seq++
	}
	return resp, err
}

func (t *simTask) heartbeat(ctx context.Context) error {
	return t.retry(ctx, func(ctx context.Context, c wire.TaskServiceClient) error {
		_, err := c.Heartbeat(ctx, &wire.HeartbeatRequest{Ref: t.ref})
		return err
	})
}

func (t *simTask) checkpoint(ctx context.Context) error {
	_, err := t.call(ctx, &wire.CallRequest{Op: &wire.CallRequest_Checkpoint{Checkpoint: &wire.CheckpointOp{}}})
	return err
}

func (t *simTask) exit(ctx context.Context) error {
	_, err := t.call(ctx, &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{
		Result: &wire.Value{Where: &wire.Value_Inline{Inline: []byte("N.")}}, ResultJson: "null"}}})
	return err
}

// spawnAndWait is the simulated root: it spawns n children, waits for all
// of them (parking if they are not done), and exits when relaunched.
func (t *simTask) spawnAndWait(ctx context.Context, g *wire.ClaimResponse, n int) error {
	if g.GetSeq() == 0 {
		sp := &wire.SpawnOp{}
		for i := 0; i < n; i++ {
			sp.Children = append(sp.Children, &wire.ChildSpec{Start: &wire.Value{Where: &wire.Value_Inline{Inline: []byte("N.")}}})
		}
		resp, err := t.call(ctx, &wire.CallRequest{Op: &wire.CallRequest_Spawn{Spawn: sp}})
		if err != nil {
			return err
		}
		resp, err = t.call(ctx, &wire.CallRequest{Op: &wire.CallRequest_Wait{Wait: &wire.WaitOp{Futures: resp.GetSpawned().GetTaskIds()}}})
		if err != nil {
			return err
		}
		if resp.GetBlocked() != nil {
			return t.retry(ctx, func(ctx context.Context, c wire.TaskServiceClient) error {
				_, err := c.Park(ctx, &wire.ParkRequest{Ref: t.ref, Seq: t.seq})
				return err
			})
		}
	}
	return t.exit(ctx)
}
