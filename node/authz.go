package node

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/fsm"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// Authorization: one table says which principals may call each method of
// the API port, and one interceptor (unary and stream) enforces it before
// any handler or the forwarder runs. A method missing from the table is
// refused. docs/security.md shows this table (a test keeps them equal).

// rule is one row of the table.
type rule struct {
	allow roleSet
	// ownJob limits a submitter to the jobs it submitted: the request's
	// job_id must be one of them, and a list shows only them.
	ownJob bool
	// self limits a peer to itself: the request's node_id must be the
	// name in its node certificate (a node joining the cluster).
	self bool
	// plaintextAnonymous admits anonymous callers when the API has no
	// TLS: nodes then have no certificate to prove themselves with, and
	// still ask each other for their status (versions, the cluster id).
	plaintextAnonymous bool
	// anonymous admits every caller, with credentials or without: health
	// checks (load balancers hold none), which reveal only readiness.
	anonymous bool
}

var (
	readers = rolesOf(RoleAdmin, RoleOperator, RoleReader, RoleSubmitter)
	tasks   = rolesOf(RoleTask)
)

// authzTable is the whole of authorization. A task may call the task API
// only for the launch its secret was drawn for (see checkTask).
var authzTable = map[string]rule{
	wire.ClientService_SubmitJob_FullMethodName:      {allow: rolesOf(RoleAdmin, RoleSubmitter)},
	wire.ClientService_WatchJob_FullMethodName:       {allow: readers, ownJob: true},
	wire.ClientService_JobEvents_FullMethodName:      {allow: readers, ownJob: true},
	wire.ClientService_GetJob_FullMethodName:         {allow: readers, ownJob: true},
	wire.ClientService_JobResult_FullMethodName:      {allow: readers, ownJob: true},
	wire.ClientService_ListJobs_FullMethodName:       {allow: readers, ownJob: true},
	wire.ClientService_AuditJob_FullMethodName:       {allow: readers, ownJob: true},
	wire.ClientService_CancelJob_FullMethodName:      {allow: rolesOf(RoleAdmin, RoleOperator, RoleSubmitter), ownJob: true},
	wire.ClientService_InvocationLogs_FullMethodName: {allow: rolesOf(RoleAdmin, RoleOperator, RoleSubmitter), ownJob: true},
	wire.ClientService_RetryJob_FullMethodName:       {allow: rolesOf(RoleAdmin, RoleOperator)},
	// Nodes ask each other for their status (versions, the cluster id).
	wire.ClientService_ClusterStatus_FullMethodName: {allow: readers.with(RolePeer), plaintextAnonymous: true},

	wire.AdminService_Members_FullMethodName:        {allow: readers},
	wire.AdminService_Join_FullMethodName:           {allow: rolesOf(RoleAdmin, RolePeer), self: true},
	wire.AdminService_Remove_FullMethodName:         {allow: rolesOf(RoleAdmin)},
	wire.AdminService_TransferLeader_FullMethodName: {allow: rolesOf(RoleAdmin)},
	wire.AdminService_Drain_FullMethodName:          {allow: rolesOf(RoleAdmin)},
	wire.AdminService_Undrain_FullMethodName:        {allow: rolesOf(RoleAdmin)},
	wire.AdminService_RotateKey_FullMethodName:      {allow: rolesOf(RoleAdmin)},
	// A backup holds the whole replicated state.
	wire.AdminService_Backup_FullMethodName: {allow: rolesOf(RoleAdmin)},

	// kappa drill: faults and recovery probes, answered by the node called.
	wire.DrillService_InjectFault_FullMethodName: {allow: rolesOf(RoleAdmin)},
	wire.DrillService_Probe_FullMethodName:       {allow: rolesOf(RoleAdmin)},

	wire.TaskService_Claim_FullMethodName:     {allow: tasks},
	wire.TaskService_Call_FullMethodName:      {allow: tasks},
	wire.TaskService_Poll_FullMethodName:      {allow: tasks},
	wire.TaskService_Park_FullMethodName:      {allow: tasks},
	wire.TaskService_Heartbeat_FullMethodName: {allow: tasks},

	healthpb.Health_Check_FullMethodName: {allow: rolesOf(allRoles...), anonymous: true},
	healthpb.Health_List_FullMethodName:  {allow: rolesOf(allRoles...), anonymous: true},
	healthpb.Health_Watch_FullMethodName: {allow: rolesOf(allRoles...), anonymous: true},
}

// roleSet is a set of roles.
type roleSet uint16

// allRoles orders roles for messages and the documented table.
var allRoles = []Role{RoleAdmin, RoleOperator, RoleSubmitter, RoleReader, RoleTask, RolePeer}

func rolesOf(rs ...Role) roleSet {
	var s roleSet
	for _, r := range rs {
		s |= 1 << slices.Index(allRoles, r)
	}
	return s
}

func (s roleSet) with(r Role) roleSet { return s | rolesOf(r) }

func (s roleSet) has(r Role) bool {
	i := slices.Index(allRoles, r)
	return i >= 0 && s&(1<<i) != 0
}

func (s roleSet) names() []string {
	var out []string
	for _, r := range allRoles {
		if s.has(r) {
			out = append(out, string(r))
		}
	}
	return out
}

// authz is the interceptor, with what it needs to know of the node.
type authz struct {
	n      *Node
	tokens *tokenSet
	// certs: the API port is TLS and certificates name roles (and peers).
	certs bool
	// open: no TLS and no tokens (--insecure without --token-file): every
	// caller that is not a task is taken for an admin, as before there
	// was authentication. Task secrets are checked in every mode.
	open bool
}

func (a *authz) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	p, r, err := a.admit(ctx, info.FullMethod)
	if err != nil {
		return nil, a.refused(ctx, info.FullMethod, p, err)
	}
	ctx = withPrincipal(ctx, p)
	ctx, err = a.authorize(ctx, p, r, info.FullMethod, req)
	if err != nil {
		return nil, a.refused(ctx, info.FullMethod, p, err)
	}
	resp, err := h(ctx, req)
	if err == nil && r.ownJob && p.Role == RoleSubmitter {
		if l, ok := resp.(*wire.ListJobsResponse); ok {
			l.Jobs = slices.DeleteFunc(l.Jobs, func(j *wire.JobStatus) bool { return j.GetOwner() != p.Name })
		}
	}
	return resp, err
}

func (a *authz) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx := ss.Context()
	p, r, err := a.admit(ctx, info.FullMethod)
	if err != nil {
		return a.refused(ctx, info.FullMethod, p, err)
	}
	return h(srv, &authzStream{ServerStream: ss, ctx: withPrincipal(ss.Context(), p), check: func(ctx context.Context, req any) error {
		if _, err := a.authorize(ctx, p, r, info.FullMethod, req); err != nil {
			return a.refused(ctx, info.FullMethod, p, err)
		}
		return nil
	}})
}

// refused counts and logs (at debug level: a flood of refusals must not
// flood the log) a refusal, naming the principal, never a credential.
func (a *authz) refused(ctx context.Context, method string, p Principal, err error) error {
	code := status.Code(err)
	if code == codes.Unauthenticated || code == codes.PermissionDenied {
		a.n.metrics.refused.WithLabelValues(method, code.String()).Inc()
		a.n.log.DebugContext(ctx, "API call refused", "method", method, "principal", p.String(), "why", status.Convert(err).Message())
	}
	return err
}

// authzStream checks the request of a server stream (the first message
// the handler receives) before the handler sees it.
type authzStream struct {
	grpc.ServerStream
	ctx     context.Context
	check   func(context.Context, any) error
	checked bool
}

func (s *authzStream) Context() context.Context { return s.ctx }

func (s *authzStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !s.checked {
		s.checked = true
		return s.check(s.ctx, m)
	}
	return nil
}

// admit establishes the principal and checks its role against the table.
func (a *authz) admit(ctx context.Context, method string) (Principal, rule, error) {
	r, listed := authzTable[method]
	if !listed {
		return Principal{}, r, status.Errorf(codes.PermissionDenied, "%s is not in the authorization table of node %s: refused (deny by default)", method, a.n.cfg.NodeID)
	}
	p, err := a.authenticate(ctx, method)
	if err != nil {
		return p, r, err
	}
	if r.anonymous || p.Role == RoleAnonymous && r.plaintextAnonymous && !a.certs {
		return p, r, nil
	}
	if p.Role == RoleAnonymous {
		return p, r, status.Errorf(codes.Unauthenticated,
			"%s: this cluster requires a client certificate, a token or a task credential; see docs/security.md", method)
	}
	if !r.allow.has(p.Role) {
		return p, r, status.Errorf(codes.PermissionDenied, "%s may not call %s (allowed: %s)", p, method, strings.Join(r.allow.names(), ", "))
	}
	return p, r, nil
}

// authorize checks what depends on the request: a task's launch, a
// submitter's job, a peer's own id. What this node cannot decide yet (a
// follower that has not applied the launch or the job) is left to the
// leader: the call is marked so that it is forwarded, never served here.
func (a *authz) authorize(ctx context.Context, p Principal, r rule, method string, req any) (context.Context, error) {
	switch {
	case r.anonymous:
		return ctx, nil
	case p.Role == RoleTask:
		return a.checkTask(ctx, p, method, req)
	case p.Role == RoleSubmitter && r.ownJob:
		return a.checkOwner(ctx, p, method, req)
	case p.Role == RolePeer && r.self:
		if id := req.(interface{ GetNodeId() string }).GetNodeId(); id != p.Name {
			return ctx, status.Errorf(codes.PermissionDenied, "%s may call %s only for itself, not for node %q", p, method, id)
		}
	}
	return ctx, nil
}

// checkOwner lets a submitter reach only the jobs it submitted.
func (a *authz) checkOwner(ctx context.Context, p Principal, method string, req any) (context.Context, error) {
	jr, ok := req.(interface{ GetJobId() uint64 })
	if !ok {
		return ctx, nil // a list: filtered on the way out
	}
	job := jr.GetJobId()
	owner, known := a.n.jobOwner(job)
	if !known {
		// A job forgotten after its retention keeps its owner in its
		// archive (in the shared store, which every node reads).
		if rec, err := a.n.readArchive(ctx, job); err == nil {
			owner, known = rec.GetJob().GetOwner(), true
		}
	}
	switch {
	case known && owner == p.Name:
		return ctx, nil
	case known:
		return ctx, status.Errorf(codes.PermissionDenied, "%s may call %s only for jobs it submitted; j%d is not one of them", p, method, job)
	}
	notFound := rpcError(ctx, codes.NotFound, wire.ErrorReason_NOT_FOUND, notFoundJob(job))
	if !forwarded(method, req) {
		// Served from this replica, which does not know the job.
		return ctx, notFound
	}
	return a.leaderDecides(ctx, notFound)
}

// leaderDecides handles a call about something this node does not know
// (a job, a launch). A follower marks the call so that it is forwarded,
// never served here, and the leader judges it; a leader whose barrier has
// applied knows everything acknowledged, so for it the unknown is
// unknown; a new leader still applying its log asks the caller to retry.
func (a *authz) leaderDecides(ctx context.Context, unknown error) (context.Context, error) {
	if !a.n.isLeader() {
		return context.WithValue(ctx, leaderDecidesKey{}, true), nil
	}
	if !a.n.ready() {
		return ctx, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER,
			"node "+a.n.cfg.NodeID+" is a new leader still applying its log; retry")
	}
	return ctx, unknown
}

type leaderDecidesKey struct{}

// mustForward says the interceptor left the call to the leader.
func mustForward(ctx context.Context) bool {
	v, _ := ctx.Value(leaderDecidesKey{}).(bool)
	return v
}

// authenticate establishes who calls, in this order: a verified client
// certificate (a node's certificate makes a peer, which may speak for
// the principal it forwards a call for), a bearer token, a task secret;
// else anonymous, or an admin on an open cluster.
func (a *authz) authenticate(ctx context.Context, method string) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if a.certs {
		if leaf := verifiedLeaf(ctx); leaf != nil {
			return a.fromCertificate(leaf, md)
		}
	}
	if auth := firstMD(md, authorizationKey); auth != "" && !a.open {
		return a.fromToken(auth)
	}
	secret := firstMD(md, TaskSecretKey)
	if secret != "" || strings.HasPrefix(method, "/"+wire.TaskService_ServiceDesc.ServiceName+"/") {
		return Principal{Role: RoleTask, Via: "task secret", secret: secret}, nil
	}
	if a.open {
		return Principal{Role: RoleAdmin, Via: "open cluster"}, nil
	}
	return Principal{Role: RoleAnonymous, Via: "no credentials"}, nil
}

func (a *authz) fromCertificate(leaf *x509.Certificate, md metadata.MD) (Principal, error) {
	id, ok := tlsconf.IdentityOf(leaf)
	switch {
	case ok && id.Role == tlsconf.RoleNode:
		obo := firstMD(md, onBehalfOfKey)
		if obo == "" {
			return Principal{Role: RolePeer, Name: id.Name, Via: "node certificate"}, nil
		}
		p, err := parseOnBehalfOf(obo, id.Name)
		if err != nil {
			return p, status.Error(codes.Unauthenticated, err.Error())
		}
		if p.Role == RoleTask {
			// The task's own secret decides, here as on the follower.
			p.secret = firstMD(md, TaskSecretKey)
		}
		return p, nil
	case ok && id.Role != tlsconf.RoleLambda:
		return Principal{Role: id.Role, Name: id.Name, Via: "certificate"}, nil
	}
	what := "no single kappa role"
	if ok {
		what = "no client role (" + string(id.Role) + ")"
	}
	return Principal{}, status.Errorf(codes.Unauthenticated,
		"the certificate of %q names %s: a client's OrganizationalUnit must be kappa:admin, kappa:operator, kappa:submitter or kappa:reader (kappa cert create-client NAME --role ROLE)", leaf.Subject.CommonName, what)
}

func (a *authz) fromToken(auth string) (Principal, error) {
	token, ok := strings.CutPrefix(auth, bearerPrefix)
	if !ok || token == "" {
		return Principal{}, status.Error(codes.Unauthenticated, "the authorization metadata must be `Bearer <token>`")
	}
	if !a.tokens.enabled() {
		return Principal{}, status.Errorf(codes.Unauthenticated, "node %s admits no tokens (it has no --token-file); use a client certificate", a.n.cfg.NodeID)
	}
	t, ok := a.tokens.lookup(token)
	if !ok {
		return Principal{}, status.Errorf(codes.Unauthenticated,
			"the bearer token is not one node %s admits (its --token-file lists tokens by hash; `kappa token create` makes one)", a.n.cfg.NodeID)
	}
	return Principal{Role: t.Role, Name: t.Name, Via: "token"}, nil
}

// forwardMetadata tells the leader whom this follower authenticated. With
// certificates, the follower's own node certificate vouches for the
// principal it names; without them nothing can vouch, so the caller's own
// credentials travel on and the leader checks them itself. A task's secret
// always travels on: the leader checks it against the launch.
func (a *authz) forwardMetadata(ctx context.Context) []string {
	md, _ := metadata.FromIncomingContext(ctx)
	var kv []string
	if s := firstMD(md, TaskSecretKey); s != "" {
		kv = append(kv, TaskSecretKey, s)
	}
	if a.certs {
		if p, ok := PrincipalFrom(ctx); ok {
			kv = append(kv, onBehalfOfKey, onBehalfOf(p))
		}
	} else if t := firstMD(md, authorizationKey); t != "" {
		kv = append(kv, authorizationKey, t)
	}
	return kv
}

func newAuthz(n *Node) (*authz, error) {
	tokens, err := newTokenSet(n.cfg.TokenFile, n.cfg.Tokens, n.log)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	a := &authz{n: n, tokens: tokens, certs: n.cfg.Certs != nil}
	a.open = !a.certs && !tokens.enabled()
	if a.open {
		n.log.Warn("INSECURE: the API port has neither TLS nor a --token-file, so every client is an admin; task calls still need their task secret (docs/security.md)",
			"api", n.APIAddr())
	}
	return a, nil
}

// jobOwner reads a job's owner from this node's replica.
func (n *Node) jobOwner(job uint64) (owner string, known bool) {
	n.replica.read(func(m *fsm.Machine) { owner, known = m.JobOwner(job) })
	return owner, known
}
