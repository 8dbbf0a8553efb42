package node

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Readiness is whether this node can serve: it knows a leader and has
// applied every entry it knows to be committed. Load balancers and
// orchestrators read it from /readyz and the gRPC health service; it
// reveals only ids and indexes, so both are anonymous.
type Readiness struct {
	Ready        bool   `json:"ready"`
	Reason       string `json:"reason,omitempty"`
	NodeID       string `json:"node_id"`
	LeaderID     string `json:"leader_id"`
	AppliedIndex uint64 `json:"applied_index"`
	CommitIndex  uint64 `json:"commit_index"`
}

// Readiness samples this node's commit index and waits up to wait for its
// FSM to apply it, so a follower that is merely a few entries behind a
// busy leader still counts as ready.
func (n *Node) Readiness(wait time.Duration) Readiness {
	r := Readiness{NodeID: n.cfg.NodeID}
	_, id := n.raft.LeaderWithID()
	r.LeaderID = string(id)
	r.CommitIndex = n.raft.CommitIndex()
	deadline := time.Now().Add(wait)
	for r.AppliedIndex = n.raft.AppliedIndex(); r.AppliedIndex < r.CommitIndex && time.Now().Before(deadline); r.AppliedIndex = n.raft.AppliedIndex() {
		select {
		case <-n.replica.changed.wait():
		case <-time.After(5 * time.Millisecond):
		}
	}
	switch {
	case n.raft.State() == raft.Shutdown:
		r.Reason = "raft is shut down (the node is stopping or halted)"
	case r.LeaderID == "":
		r.Reason = "no leader known (election in progress or no quorum)"
	case r.AppliedIndex < r.CommitIndex:
		r.Reason = "applying the log: applied index behind commit index"
	case r.LeaderID == n.cfg.NodeID && !n.ready():
		r.Reason = "new leader still applying the entries of earlier terms"
	default:
		r.Ready = true
	}
	return r
}

// HealthHandler serves /livez (200 while the process runs and Raft has not
// stopped) and /readyz (200 when ready, 503 with the reason otherwise; both
// answer with the Readiness as JSON).
func (n *Node) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		if n.raft.State() == raft.Shutdown {
			http.Error(w, "raft is shut down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := n.Readiness(n.cfg.Raft.HeartbeatTimeout / 2)
		w.Header().Set("Content-Type", "application/json")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
	return mux
}

// healthServices are the names the gRPC health service answers for: ""
// (the whole server) and each Kappa service.
var healthServices = []string{"",
	wire.ClientService_ServiceDesc.ServiceName, wire.TaskService_ServiceDesc.ServiceName, wire.AdminService_ServiceDesc.ServiceName}

// serveHealth registers the standard gRPC health service and keeps its
// status in step with Readiness, polled four times a heartbeat so a lost
// leader shows within one.
func (n *Node) serveHealth() *health.Server {
	hs := health.NewServer()
	for _, s := range healthServices {
		hs.SetServingStatus(s, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	healthpb.RegisterHealthServer(n.grpc, hs)
	every := n.cfg.Raft.HeartbeatTimeout / 4
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer hs.Shutdown()
		t := time.NewTicker(every)
		defer t.Stop()
		last := healthpb.HealthCheckResponse_NOT_SERVING
		for {
			st := healthpb.HealthCheckResponse_NOT_SERVING
			if n.Readiness(every).Ready {
				st = healthpb.HealthCheckResponse_SERVING
			}
			if st != last {
				for _, s := range healthServices {
					hs.SetServingStatus(s, st)
				}
				last = st
			}
			select {
			case <-n.done:
				return
			case <-t.C:
			}
		}
	}()
	return hs
}
