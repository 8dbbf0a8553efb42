package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Role is what a certificate lets its holder be. It is written in the
// certificate's Subject as the OrganizationalUnit "kappa:<role>".
type Role string

// The roles. Admin, operator, submitter and reader are people and programs
// using the client and admin APIs; node is a coordinator node (its Common
// Name is its node id, and it may speak Raft); lambda is the local lambda
// platform's server certificate, which grants nothing on the cluster.
const (
	RoleAdmin     Role = "admin"
	RoleOperator  Role = "operator"
	RoleSubmitter Role = "submitter"
	RoleReader    Role = "reader"
	RoleNode      Role = "node"
	RoleLambda    Role = "lambda"
)

// ClientRoles are the roles `kappa cert create-client` issues.
var ClientRoles = []Role{RoleAdmin, RoleOperator, RoleSubmitter, RoleReader}

// ouPrefix marks Kappa's OrganizationalUnit.
const ouPrefix = "kappa:"

// ParseRole accepts the name of a known role.
func ParseRole(s string) (Role, bool) {
	switch r := Role(s); r {
	case RoleAdmin, RoleOperator, RoleSubmitter, RoleReader, RoleNode, RoleLambda:
		return r, true
	}
	return "", false
}

// Identity is who a verified certificate names: its Common Name and role.
// For a node certificate Name is the node id.
type Identity struct {
	Name string
	Role Role
}

func (id Identity) String() string { return string(id.Role) + " " + id.Name }

// IdentityOf reads the identity a certificate states: exactly one
// OrganizationalUnit "kappa:<known role>" and a non-empty Common Name. It
// does not verify the certificate: use it only on a verified one.
func IdentityOf(cert *x509.Certificate) (Identity, bool) {
	if cert == nil || cert.Subject.CommonName == "" {
		return Identity{}, false
	}
	var role Role
	for _, ou := range cert.Subject.OrganizationalUnit {
		name, ok := strings.CutPrefix(ou, ouPrefix)
		if !ok {
			continue
		}
		r, known := ParseRole(name)
		if !known || role != "" {
			return Identity{}, false // an unknown role, or two: trust neither
		}
		role = r
	}
	if role == "" {
		return Identity{}, false
	}
	return Identity{Name: cert.Subject.CommonName, Role: role}, true
}

// PeerIdentity is the identity of the other side of a TLS connection,
// when it presented a certificate that this side verified against the
// cluster's CA (a server with VerifyClientCertIfGiven or
// RequireAndVerifyClientCert). A connection without a verified
// certificate has none.
func PeerIdentity(state tls.ConnectionState) (Identity, bool) {
	if len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return Identity{}, false
	}
	return IdentityOf(state.VerifiedChains[0][0])
}

// PeerFromContext is PeerIdentity of the caller of a gRPC server method.
func PeerFromContext(ctx context.Context) (Identity, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return Identity{}, false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return Identity{}, false
	}
	return PeerIdentity(info.State)
}
