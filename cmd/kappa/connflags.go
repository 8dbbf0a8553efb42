package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// connFlags say how a command connects to a cluster: with a certs dir
// (TLS, and client.crt when the dir has one) or, explicitly, in plaintext.
type connFlags struct {
	certsDir string
	insecure bool
	token    tokenFlags
	flags    *pflag.FlagSet
}

func (f *connFlags) register(flags *pflag.FlagSet) {
	f.flags = flags
	flags.StringVar(&f.certsDir, "certs-dir", os.Getenv("KAPPA_CERTS_DIR"), "certs dir with the cluster's ca.crt and your client.crt/client.key (default $KAPPA_CERTS_DIR; `kappa cert`)")
	flags.BoolVar(&f.insecure, "insecure", false, "talk plaintext to a cluster started with --insecure")
	f.token.register(flags)
}

// options are the client's connection options, or a usage error naming
// what is missing. A certs dir that does not exist yet is waited for up to
// wait (a dev-cluster started a moment ago is still making it).
func (f *connFlags) options(wait time.Duration) ([]grpc.DialOption, error) {
	token, err := f.token.dialOptions()
	if err != nil {
		return nil, err
	}
	transport, err := f.transport(wait)
	return append(transport, token...), err
}

// transport is how the client dials: TLS from the certs dir, or plaintext.
func (f *connFlags) transport(wait time.Duration) ([]grpc.DialOption, error) {
	if f.insecure {
		if f.flags != nil && f.flags.Changed("certs-dir") {
			return nil, usageError("--insecure and --certs-dir exclude each other: a cluster serves either TLS or plaintext")
		}
		return []grpc.DialOption{kappaclient.Insecure()}, nil
	}
	if f.certsDir == "" {
		return nil, usageError("no certificates to reach the cluster with: pass --certs-dir DIR or set KAPPA_CERTS_DIR (ca.crt and client.crt/client.key, made with `kappa cert create-client`), or --insecure for a cluster started with --insecure")
	}
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(f.certsDir); err == nil {
			break
		}
	}
	certs, err := tlsconf.Load(f.certsDir)
	if err != nil {
		return nil, usageError("--certs-dir: %v", err)
	}
	creds, err := kappaclient.WithCerts(certs)
	if err != nil {
		return nil, usageError("--certs-dir: %v", err)
	}
	return []grpc.DialOption{creds}, nil
}

// client makes a client for addrs that connects as the flags say.
func (f *connFlags) client(addrs []string, wait time.Duration) (*kappaclient.Client, error) {
	opts, err := f.options(wait)
	if err != nil {
		return nil, err
	}
	c, err := kappaclient.New(addrs, opts...)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}
