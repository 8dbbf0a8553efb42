package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"google.golang.org/grpc/credentials"
)

// ServerConfig is the configuration of a listener that presents p's
// certificate and treats client certificates by auth:
// tls.VerifyClientCertIfGiven on the API port (tasks and token clients
// have none), tls.RequireAndVerifyClientCert on the Raft and metrics ports.
// Each handshake gets the files as they are on disk now.
func (c *Certs) ServerConfig(p Pair, auth tls.ClientAuthType) (*tls.Config, error) {
	if _, err := c.Certificate(p); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return c.serverConfig(p, auth)
		},
	}, nil
}

func (c *Certs) serverConfig(p Pair, auth tls.ClientAuthType) (*tls.Config, error) {
	cert, err := c.Certificate(p)
	if err != nil {
		return nil, err
	}
	pool, err := c.ca.get()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   MinVersion,
		Certificates: []tls.Certificate{*cert},
		ClientCAs:    pool,
		ClientAuth:   auth,
	}, nil
}

// ClientOptions shape a dialing configuration.
type ClientOptions struct {
	// Pair is the certificate presented to servers that ask; nil: none.
	Pair *Pair
	// ServerRole, when set, is the role the server's certificate must
	// state: RoleNode for coordinator nodes, RoleLambda for lambda-local.
	ServerRole Role
	// Host is the name or IP address the server's certificate must name.
	// Credentials fills it in from each connection's address.
	Host string
	// AnyHost skips checking the server's name. The Raft transport sets
	// it: a peer is known by its node certificate, and may be reached
	// through an address (a proxy) its certificate does not list.
	AnyHost bool
}

// ClientConfig is the configuration of a dialer: it verifies the server's
// certificate against the CA as it is on disk at each handshake (and that
// it names o.Host, unless AnyHost), and presents o.Pair's certificate.
func (c *Certs) ClientConfig(o ClientOptions) (*tls.Config, error) {
	if o.Host == "" && !o.AnyHost {
		return nil, errors.New("tlsconf: a client configuration needs the server's Host (or AnyHost)")
	}
	if o.Pair != nil {
		if _, err := c.Certificate(*o.Pair); err != nil {
			return nil, err
		}
	}
	cfg := &tls.Config{
		MinVersion: MinVersion,
		ServerName: o.Host,
		// The CA may change on disk: the check is done by VerifyConnection
		// against the current pool, instead of by a pool fixed here.
		InsecureSkipVerify: true,
		VerifyConnection:   func(cs tls.ConnectionState) error { return c.verifyServer(cs, o) },
	}
	if o.Pair != nil {
		pair := *o.Pair
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return c.Certificate(pair)
		}
	}
	return cfg, nil
}

func (c *Certs) verifyServer(cs tls.ConnectionState, o ClientOptions) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server presented no certificate")
	}
	pool, err := c.ca.get()
	if err != nil {
		return err
	}
	opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if !o.AnyHost {
		opts.DNSName = o.Host
	}
	for _, ic := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(ic)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("the server's certificate is not valid for this cluster (CA %s): %w", filepath.Join(c.dir, CAFile), err)
	}
	if o.ServerRole != "" {
		id, ok := IdentityOf(leaf)
		if !ok || id.Role != o.ServerRole {
			return fmt.Errorf("the server's certificate (%s) is not a %s certificate", leaf.Subject.String(), o.ServerRole)
		}
	}
	return nil
}

// Credentials are gRPC transport credentials for dialing with o: each
// connection checks that the server's certificate names the host of the
// address dialed (unless o.AnyHost).
func (c *Certs) Credentials(o ClientOptions) (credentials.TransportCredentials, error) {
	probe := o
	probe.AnyHost = true
	cfg, err := c.ClientConfig(probe) // checks the pair now
	if err != nil {
		return nil, err
	}
	return &clientCreds{TransportCredentials: credentials.NewTLS(cfg), certs: c, o: o}, nil
}

// clientCreds makes a configuration for each connection, naming its host.
type clientCreds struct {
	credentials.TransportCredentials
	certs *Certs
	o     ClientOptions
}

func (cc *clientCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	o := cc.o
	if o.Host == "" {
		o.Host = authority
		if host, _, err := net.SplitHostPort(authority); err == nil {
			o.Host = host
		}
	}
	cfg, err := cc.certs.ClientConfig(o)
	if err != nil {
		return nil, nil, err
	}
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, raw)
}

func (cc *clientCreds) Clone() credentials.TransportCredentials {
	return &clientCreds{TransportCredentials: cc.TransportCredentials.Clone(), certs: cc.certs, o: cc.o}
}
