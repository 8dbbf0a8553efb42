package node

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// authzMarkdown renders authzTable as docs/security.md shows it.
func authzMarkdown() string {
	cols := append(append([]Role(nil), allRoles...), RoleAnonymous)
	var b strings.Builder
	b.WriteString("| method |")
	for _, r := range cols {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(cols)) + "\n")
	services := []string{wire.ClientService_ServiceDesc.ServiceName, wire.AdminService_ServiceDesc.ServiceName, wire.DrillService_ServiceDesc.ServiceName, wire.TaskService_ServiceDesc.ServiceName,
		healthpb.Health_ServiceDesc.ServiceName}
	var methods []string
	for m := range authzTable {
		methods = append(methods, m)
	}
	slices.SortFunc(methods, func(a, c string) int {
		sa, sc := slices.IndexFunc(services, func(s string) bool { return strings.HasPrefix(a, "/"+s+"/") }),
			slices.IndexFunc(services, func(s string) bool { return strings.HasPrefix(c, "/"+s+"/") })
		if sa != sc {
			return sa - sc
		}
		return strings.Compare(a, c)
	})
	for _, m := range methods {
		r := authzTable[m]
		b.WriteString("| `" + strings.TrimPrefix(strings.TrimPrefix(m, "/kappa.v1."), "/") + "` |")
		for _, role := range cols {
			cell := "—"
			switch {
			case r.anonymous:
				cell = "yes"
			case role == RoleAnonymous && r.plaintextAnonymous:
				cell = "without TLS"
			case !r.allow.has(role):
			case role == RoleSubmitter && r.ownJob:
				cell = "own jobs"
			case role == RolePeer && r.self:
				cell = "itself only"
			case role == RoleTask:
				cell = "own launch"
			default:
				cell = "yes"
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// docs/security.md shows the authorization table the interceptor enforces.
func TestSecurityDocShowsTheAuthorizationTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := authzMarkdown()
	if !strings.Contains(string(doc), want) {
		t.Fatalf("docs/security.md does not show node/authz.go's table; paste this in its place:\n\n%s", want)
	}
}
