package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// serveMetrics serves the node's Prometheus metrics, its health (/livez,
// /readyz) and, with withPprof, net/http/pprof. With certs the port speaks
// TLS with node.crt; metrics want a client certificate of the cluster (any
// role: give Prometheus a reader certificate), profiles an admin one. The
// health endpoints are anonymous (load balancers and kubelets hold no
// certificate; they reveal only ids and indexes).
func serveMetrics(addr string, n *node.Node, logger *slog.Logger, certs *tlsconf.Certs, withPprof bool) error {
	var tlsCfg *tls.Config
	if certs != nil {
		var err error
		if tlsCfg, err = certs.ServerConfig(tlsconf.NodePair, tls.VerifyClientCertIfGiven); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", requireRole(certs, "", n.MetricsHandler()))
	mux.Handle("/livez", n.HealthHandler())
	mux.Handle("/readyz", n.HealthHandler())
	if withPprof {
		profiles := http.NewServeMux()
		profiles.HandleFunc("/debug/pprof/", pprof.Index)
		profiles.HandleFunc("/debug/pprof/profile", pprof.Profile)
		profiles.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		profiles.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/debug/pprof/", requireRole(certs, tlsconf.RoleAdmin, profiles))
	}
	srv := &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if tlsCfg != nil {
			_ = srv.ServeTLS(ln, "", "")
		} else {
			_ = srv.Serve(ln)
		}
	}()
	logger.Info("serving metrics", "metrics", ln.Addr().String(), "tls", tlsCfg != nil, "pprof", withPprof)
	return nil
}

// requireRole lets through a request whose TLS client certificate the
// cluster's CA verified and that states role (any Kappa role when role is
// empty). Without certs (--insecure) everything passes.
func requireRole(certs *tlsconf.Certs, role tlsconf.Role, h http.Handler) http.Handler {
	if certs == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := tlsconf.Identity{}, false
		if r.TLS != nil {
			id, ok = tlsconf.PeerIdentity(*r.TLS)
		}
		switch {
		case !ok:
			http.Error(w, "a client certificate of this cluster is required", http.StatusUnauthorized)
		case role != "" && id.Role != role:
			http.Error(w, fmt.Sprintf("%s: only an %s certificate may read profiles", id, role), http.StatusForbidden)
		default:
			h.ServeHTTP(w, r)
		}
	})
}
