package node

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node/ui"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// The dashboard (Config.UIAddr): served by every node over the API's
// security. With TLS it is HTTPS with the node's certificate, and a
// browser's client certificate of the cluster signs the user in; a bearer
// token pasted in the login form does too (the session cookie then names
// a server-side session, never the token). Any client role may look
// (admin, operator, submitter, reader); a submitter sees only its own
// jobs. Without TLS and tokens (an open cluster) everyone is an admin, as
// on the API. The pages read this node's replica (stale reads).

const (
	uiCookie     = "kappa_ui_session"
	uiSessionTTL = 12 * time.Hour
	uiMaxJobs    = 200
)

type uiServer struct {
	n   *Node
	srv *http.Server
	tls bool

	mu       sync.Mutex
	sessions map[string]uiSession
}

type uiSession struct {
	p       Principal
	expires time.Time
}

// startUI serves the dashboard on cfg.UIAddr until the node closes.
func (n *Node) startUI() error {
	lis, err := net.Listen("tcp", n.cfg.UIAddr)
	if err != nil {
		return fmt.Errorf("node: cannot listen on the dashboard address %s (--ui-addr): %w", n.cfg.UIAddr, err)
	}
	u := &uiServer{n: n, sessions: map[string]uiSession{}}
	if n.cfg.Certs != nil {
		cfg, err := n.cfg.Certs.ServerConfig(tlsconf.NodePair, tls.VerifyClientCertIfGiven)
		if err != nil {
			lis.Close()
			return fmt.Errorf("node: dashboard TLS: %w", err)
		}
		lis, u.tls = tls.NewListener(lis, cfg), true
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", ui.Static())
	mux.HandleFunc("GET /login", u.loginForm)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("GET /logout", u.logout)
	mux.HandleFunc("GET /{$}", u.signedIn(u.overview))
	mux.HandleFunc("GET /jobs/{id}", u.signedIn(u.job))
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	n.ui, n.uiAddr = u, lis.Addr().String()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := u.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("dashboard stopped", "err", err)
		}
	}()
	n.log.Info("dashboard serving", "addr", n.uiAddr, "tls", u.tls)
	return nil
}

// UIAddr is where the dashboard listens ("" when it is off).
func (n *Node) UIAddr() string { return n.uiAddr }

func (u *uiServer) close() { u.srv.Close() }

// principal is who the request comes from, if anyone acceptable.
func (u *uiServer) principal(r *http.Request) (Principal, bool) {
	if r.TLS != nil {
		if id, ok := tlsconf.PeerIdentity(*r.TLS); ok && id.Role != tlsconf.RoleNode && id.Role != tlsconf.RoleLambda {
			return Principal{Role: id.Role, Name: id.Name, Via: "certificate"}, true
		}
	}
	if c, err := r.Cookie(uiCookie); err == nil {
		u.mu.Lock()
		s, ok := u.sessions[c.Value]
		if ok && time.Now().After(s.expires) {
			delete(u.sessions, c.Value)
			ok = false
		}
		u.mu.Unlock()
		if ok {
			return s.p, true
		}
	}
	if u.n.authz.open {
		return Principal{Role: RoleAdmin, Via: "open cluster"}, true
	}
	return Principal{}, false
}

type uiHandler func(w http.ResponseWriter, r *http.Request, p Principal, page ui.Page)

// signedIn admits readers and sends everyone else to the login form (a
// page's refresh gets 401 and reloads into it).
func (u *uiServer) signedIn(h uiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := u.principal(r)
		if !ok || !readers.has(p.Role) {
			if r.URL.Query().Get("partial") != "" {
				http.Error(w, "sign in again", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
		_, leader := u.n.raft.LeaderWithID()
		who := p.String()
		if p.Via == "open cluster" {
			who = ""
		}
		h(w, r, p, ui.Page{Node: u.n.cfg.NodeID, User: who, Leader: string(leader), Term: u.n.raft.CurrentTerm()})
	}
}

func (u *uiServer) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := ui.Render(w, name, r.URL.Query().Get("partial") != "", data); err != nil {
		u.n.log.Warn("dashboard page not rendered", "page", name, "err", err)
	}
}

func (u *uiServer) loginForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "login", ui.Login{Page: ui.Page{Node: u.n.cfg.NodeID}})
}

// login turns a pasted token into a session.
func (u *uiServer) login(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.FormValue("token"))
	p, err := u.n.authz.fromToken(bearerPrefix + token)
	if err == nil && !readers.has(p.Role) {
		err = fmt.Errorf("%s may not read the cluster", p)
	}
	if token == "" || u.n.authz.open || err != nil {
		msg := "that token is not one of this cluster's"
		if u.n.authz.open {
			msg = "this cluster takes no tokens (it is open)"
		}
		w.WriteHeader(http.StatusUnauthorized)
		u.render(w, r, "login", ui.Login{Page: ui.Page{Node: u.n.cfg.NodeID}, Error: msg})
		return
	}
	b := make([]byte, 32)
	rand.Read(b)
	id := hex.EncodeToString(b)
	u.mu.Lock()
	u.sessions[id] = uiSession{p: p, expires: time.Now().Add(uiSessionTTL)}
	u.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: id, Path: "/", HttpOnly: true, Secure: u.tls,
		SameSite: http.SameSiteStrictMode, MaxAge: int(uiSessionTTL.Seconds())})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (u *uiServer) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(uiCookie); err == nil {
		u.mu.Lock()
		delete(u.sessions, c.Value)
		u.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: u.tls})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (u *uiServer) overview(w http.ResponseWriter, r *http.Request, p Principal, page ui.Page) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	data := ui.Overview{Page: page, Members: u.members(ctx)}
	api := &clientAPI{n: u.n}
	if l, err := api.ListJobs(ctx, &wire.ListJobsRequest{Stale: true}); err == nil {
		now := time.Now()
		jobs := l.GetJobs()
		for i := len(jobs) - 1; i >= 0 && len(data.Jobs) < uiMaxJobs; i-- { // newest first
			if p.Role == RoleSubmitter && jobs[i].GetOwner() != p.Name {
				continue
			}
			data.Jobs = append(data.Jobs, uiJob(jobs[i], now))
		}
	}
	u.render(w, r, "overview", data)
}

// members is the members table: each member's own status, asked in
// parallel (a member that does not answer within a second is unreachable).
func (u *uiServer) members(ctx context.Context) []ui.Member {
	cfg, err := u.n.configuration()
	if err != nil {
		return nil
	}
	out := make([]ui.Member, len(cfg.Servers))
	statuses := make([]*wire.ClusterStatusResponse, len(cfg.Servers))
	var wg sync.WaitGroup
	for i, s := range cfg.Servers {
		out[i] = ui.Member{ID: string(s.ID), Voter: s.Suffrage == raft.Voter, Role: "unreachable", Lag: -1, LastContact: "-", Version: "-"}
		u.n.replica.read(func(m *fsm.Machine) {
			if node := m.Node(string(s.ID)); node != nil {
				out[i].APIAddr, out[i].Drained = node.GetApiAddr(), node.GetDrained()
			}
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = u.memberStatus(ctx, string(s.ID), out[i].APIAddr)
		}()
	}
	wg.Wait()
	var leaderCommit uint64
	for _, st := range statuses {
		if st != nil && st.GetRaftState() == raft.Leader.String() {
			leaderCommit = st.GetCommitIndex()
		}
	}
	for i, st := range statuses {
		if st == nil {
			continue
		}
		m := &out[i]
		m.Role, m.Applied = strings.ToLower(st.GetRaftState()), st.GetRaftAppliedIndex()
		m.Version = fmt.Sprintf("%s (cmd %d)", st.GetVersion().GetVersion(), max(st.GetVersion().GetCommandVersion(), 1))
		if leaderCommit > 0 {
			m.Lag = max(int64(leaderCommit)-int64(m.Applied), 0)
		}
		switch ms := st.GetLastContactMs(); {
		case m.Role == "leader":
			m.LastContact = "-"
		case ms < 0:
			m.LastContact = "never"
		default:
			m.LastContact = strconv.FormatInt(ms, 10) + " ms"
		}
	}
	return out
}

func (u *uiServer) memberStatus(ctx context.Context, id, addr string) *wire.ClusterStatusResponse {
	api := &clientAPI{n: u.n}
	if id == u.n.cfg.NodeID {
		st, _ := api.ClusterStatus(ctx, &wire.ClusterStatusRequest{})
		return st
	}
	if addr == "" {
		return nil
	}
	conn, err := u.n.forwarder.conn(addr)
	if err != nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := wire.NewClientServiceClient(conn).ClusterStatus(cctx, &wire.ClusterStatusRequest{})
	if err != nil {
		return nil
	}
	return st
}

func uiJob(j *wire.JobStatus, now time.Time) ui.Job {
	out := ui.Job{ID: j.GetJobId(), Name: j.GetName(), Owner: j.GetOwner(), Error: j.GetError(),
		State: strings.ToLower(strings.TrimPrefix(j.GetState().String(), "JOB_")), Age: ui.Age(now, j.GetSubmittedUnixMs()),
		Done: j.GetTasksDone(), Failed: j.GetTasksFailed(), Running: j.GetTasksRunning(), Total: j.GetTasksTotal()}
	if out.Total > 0 {
		out.Percent = int(100 * (out.Done + out.Failed) / out.Total)
	}
	return out
}

func (u *uiServer) job(w http.ResponseWriter, r *http.Request, p Principal, page ui.Page) {
	id, err := strconv.ParseUint(strings.TrimPrefix(r.PathValue("id"), "j"), 10, 64)
	if err != nil {
		http.Error(w, fmt.Sprintf("%q is not a job id (want a number such as 12 or j12)", r.PathValue("id")), http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	api := &clientAPI{n: u.n}
	j, err := api.GetJob(ctx, &wire.GetJobRequest{JobId: id, Stale: true, Tasks: true})
	if err == nil && p.Role == RoleSubmitter && j.GetOwner() != p.Name {
		err = status.Error(codes.NotFound, notFoundJob(id)) // as the API: no hint it exists
	}
	if err != nil {
		code := http.StatusInternalServerError
		if status.Code(err) == codes.NotFound {
			code = http.StatusNotFound
		}
		http.Error(w, status.Convert(err).Message(), code)
		return
	}
	now := time.Now()
	data := ui.JobPage{Page: page, Job: uiJob(j, now), Result: j.GetResultJson()}
	var tasks []*ui.Task
	for _, t := range j.GetTasks() {
		tasks = append(tasks, &ui.Task{ID: t.GetTaskId(), Parent: t.GetParentId(), Name: t.GetName(), State: t.GetState(),
			Error: t.GetError(), Epoch: t.GetEpoch(), Checkpoints: t.GetCheckpoints(), Launches: t.GetLaunches()})
	}
	data.Roots = ui.Tree(tasks)
	u.n.replica.read(func(m *fsm.Machine) {
		h := m.History(id, 0)
		data.Dropped = h.GetDropped()
		for _, e := range eventsToWire(h.GetEvents()) {
			offset := ""
			if sub := j.GetSubmittedUnixMs(); sub > 0 {
				offset = fmt.Sprintf("+%.1fs", float64(e.GetAtUnixMs()-sub)/1000)
			}
			data.Events = append(data.Events, ui.Event{Seq: e.GetSeq(), Kind: e.GetKind(), Text: ui.DescribeEvent(e), Offset: offset,
				At: time.UnixMilli(e.GetAtUnixMs()).Format("15:04:05.000")})
		}
	})
	if logs, err := api.InvocationLogs(ctx, &wire.InvocationLogsRequest{JobId: id}); err == nil {
		for _, l := range logs.GetInvocations() {
			data.Logs = append(data.Logs, ui.Log{Task: l.GetTaskId(), Epoch: l.GetEpoch(), Outcome: l.GetOutcome(), Message: l.GetMessage(),
				Started: time.UnixMilli(l.GetStartedUnixMs()).Format("15:04:05.000"), DurationMs: l.GetDurationMs(), Cold: l.GetColdStart()})
		}
	}
	u.render(w, r, "job", data)
}
