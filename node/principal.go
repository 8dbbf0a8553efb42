package node

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// Role is what a principal may be (docs/security.md, "Principals"): the
// client roles a certificate or a bearer token names (tlsconf), or one of
// the roles below.
type Role = tlsconf.Role

// The roles: the client roles, then task, one invocation of one task (its
// task secret); peer, another node (its node certificate, whose tlsconf
// role is "node"); anonymous, who proved nothing.
const (
	RoleAdmin          = tlsconf.RoleAdmin
	RoleOperator       = tlsconf.RoleOperator
	RoleSubmitter      = tlsconf.RoleSubmitter
	RoleReader         = tlsconf.RoleReader
	RoleTask      Role = "task"
	RolePeer      Role = "peer"
	RoleAnonymous Role = "anonymous"
)

// ParseClientRole checks a role named in a token file or on the command
// line: a client's (tlsconf.ClientRoles).
func ParseClientRole(s string) (Role, error) {
	if r, ok := tlsconf.ParseRole(s); ok && slices.Contains(tlsconf.ClientRoles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, operator, submitter or reader)", s)
}

// Principal is who makes one API call, as this node established it.
type Principal struct {
	Role Role
	// Name is the certificate's CommonName, the token's name or the
	// node id of a peer ("" for a task, anonymous, or an open cluster).
	Name string
	// Via says how it proved itself, for messages: "certificate",
	// "token", "task secret", "open cluster", or "forwarded by node X".
	Via string
	// secret is a task's secret as presented (hex); it is checked
	// against the launch of the task the request names, never shown.
	secret string
}

// String names the principal in refusals and logs (never a secret).
func (p Principal) String() string {
	if p.Role == "" {
		return "an unidentified caller"
	}
	if p.Name == "" {
		return fmt.Sprintf("%s (%s)", p.Role, p.Via)
	}
	return fmt.Sprintf("%s %q (%s)", p.Role, p.Name, p.Via)
}

// Metadata keys of the credentials that travel with a call.
const (
	authorizationKey = "authorization"
	bearerPrefix     = "Bearer "
	// TaskSecretKey carries an invocation's task secret (hex): workers
	// send it with every task call.
	TaskSecretKey = "kappa-task-secret"
	// onBehalfOfKey is how a follower that forwards a call tells the
	// leader whom it authenticated: "<via>:<role>:<name>". The leader
	// believes it only from a peer's certificate.
	onBehalfOfKey = "kappa-on-behalf-of"
)

// verifiedLeaf is the caller's client certificate when this node
// verified it against the cluster's CA (nil otherwise: a certificate that
// was presented but not verified proves nothing).
func verifiedLeaf(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return info.State.VerifiedChains[0][0]
}

// firstMD is the first value of a metadata key, or "".
func firstMD(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// onBehalfOf renders a principal for the leader ("<via>:<role>:<name>").
func onBehalfOf(p Principal) string {
	return p.Via + ":" + string(p.Role) + ":" + p.Name
}

// parseOnBehalfOf reads what a forwarding peer says it authenticated.
func parseOnBehalfOf(s, forwarder string) (Principal, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return Principal{}, fmt.Errorf("malformed %s %q from node %q", onBehalfOfKey, s, forwarder)
	}
	role := Role(parts[1])
	switch role {
	case RoleAdmin, RoleOperator, RoleSubmitter, RoleReader, RoleTask, RolePeer:
	default:
		return Principal{}, fmt.Errorf("%s from node %q names no role a forwarded call can have (%q)", onBehalfOfKey, forwarder, parts[1])
	}
	return Principal{Role: role, Name: parts[2], Via: fmt.Sprintf("%s, forwarded by node %s", parts[0], forwarder)}, nil
}

// principalKey holds the caller's Principal in a call's context.
type principalKey struct{}

// PrincipalFrom is the principal the interceptor established for a call.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
