package checkpoint

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Identity names the store a URL reaches, without anything secret: the
// same for every spelling of one store (a password, TLS or not, options
// such as ?wait=1), different for different stores (WithoutCredentials
// drops only the credential; this also folds the spellings). Nodes of one cluster
// must all name the same store; they compare identities, which are safe to
// replicate, log and show.
//
//	redis://:secret@Cache:6379/0?wait=1  →  redis://cache:6379/0
//	rediss://host                        →  redis://host:6379/0
//	file:///shared//kappa/  or  /shared/kappa  →  file:///shared/kappa
func Identity(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return "", fmt.Errorf("checkpoint: store path %q: %w", raw, err)
		}
		return "file://" + filepath.ToSlash(abs), nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", urlError(err)
	}
	switch u.Scheme {
	case "file":
		return "file://" + path.Clean("/"+u.Path), nil
	case "redis", "rediss":
		host, port := strings.ToLower(u.Hostname()), u.Port()
		if port == "" {
			port = "6379"
		}
		db := strings.Trim(u.Path, "/")
		if db == "" {
			db = "0"
		}
		return "redis://" + net.JoinHostPort(host, port) + "/" + db, nil
	}
	return "", fmt.Errorf("checkpoint: store URL %q: unsupported scheme %q", RedactURL(raw), u.Scheme)
}
