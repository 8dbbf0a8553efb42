package lambdaapi

import (
	"encoding/json"
	"net/http"

	"github.com/kappa-serverless/kappa/lambda"
)

// WorkersPath is the local-only operation (AWS has none like it) that
// tells a fault injector which worker processes of a function are inside
// an invocation, and how invocations have ended: killing one of those
// PIDs crashes an invocation, which the Crashes count then shows. The
// `kappa lambda-local` process runs its workers as its own children, so a
// test outside it can learn them only here.
const WorkersPath = "/kappa/functions/{name}/workers"

// Workers is the answer of GET WorkersPath.
type Workers struct {
	// ServingPIDs are the workers running an invocation now.
	ServingPIDs []int `json:"serving_pids"`
	Live        int   `json:"live"` // worker processes (serving, idle or stopping)
	Idle        int   `json:"idle"`
	// Ended invocations by outcome, since the platform started.
	Invocations int64 `json:"invocations"`
	Crashes     int64 `json:"crashes"`
	Timeouts    int64 `json:"timeouts"`
}

// workers serves GET WorkersPath.
func (s *Server) workers(w http.ResponseWriter, r *http.Request) {
	fn := s.cfg.Functions[r.PathValue("name")]
	if fn == nil {
		functionNotFound(s.arn(r.PathValue("name"), "")).write(w, lambda.NewRequestID())
		return
	}
	st := fn.Stats()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(Workers{ServingPIDs: fn.ServingPIDs(), Live: st.Workers, Idle: st.Idle,
		Invocations: st.Invocations, Crashes: st.Crashes, Timeouts: st.Timeouts})
}
