package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// invokeCredentials are the static access key of a Lambda Invoke API that
// is not AWS's: `kappa lambda-local` checks every request's signature with
// them, and a coordinator signs its invocations with them.
type invokeCredentials struct {
	keyID      string
	secretFile string
}

func (c *invokeCredentials) register(f *pflag.FlagSet, role string) {
	f.StringVar(&c.keyID, "access-key-id", "", "access key id of the Lambda Invoke API's credentials ("+role+"; default $AWS_ACCESS_KEY_ID)")
	f.StringVar(&c.secretFile, "secret-access-key-file", "", "file holding its secret access key, readable by its owner only (default $AWS_SECRET_ACCESS_KEY)")
}

// resolve reads the credentials from the flags, else from the
// environment; nil when neither names any.
func (c *invokeCredentials) resolve() (*lambdaapi.Credentials, error) {
	switch {
	case c.keyID != "" && c.secretFile != "":
		secret, err := readSecretFile("--secret-access-key-file", c.secretFile)
		if err != nil {
			return nil, err
		}
		return &lambdaapi.Credentials{AccessKeyID: c.keyID, SecretAccessKey: secret}, nil
	case c.keyID != "" || c.secretFile != "":
		return nil, usageError("--access-key-id and --secret-access-key-file go together")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id != "" && secret != "" {
		return &lambdaapi.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
	}
	return nil, nil
}

// readSecretFile reads a file that holds one secret, refusing one that
// others may read.
func readSecretFile(flag, path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", usageError("%s: %v", flag, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", usageError("%s %s is readable by others (mode %v): chmod 600 it", flag, path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usageError("%s: %v", flag, err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", usageError("%s %s is empty", flag, path)
	}
	return secret, nil
}

// randomCredentials are fresh credentials for an Invoke API that only
// this process calls (the in-process local platform).
func randomCredentials() *lambdaapi.Credentials {
	return &lambdaapi.Credentials{AccessKeyID: "KAPPA" + randomHex(8), SecretAccessKey: randomHex(32)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("no randomness: " + err.Error())
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// lambdaEndpointTLS is how a node reaches an Invoke API URL: over https it
// trusts the cluster's CA (certs; nil: the system's roots) and wants
// lambda-local's certificate naming the host. A secure node sends task
// credentials in invocations, so it refuses plaintext off loopback.
func lambdaEndpointTLS(endpoint string, certs *tlsconf.Certs, creds *lambdaapi.Credentials) (*tls.Config, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, usageError("--lambda %q is not a URL", endpoint)
	}
	switch {
	case u.Scheme == "https" && creds == nil:
		return nil, usageError("--lambda %s needs the credentials lambda-local checks: --access-key-id and --secret-access-key-file (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", endpoint)
	case u.Scheme == "https" && certs != nil:
		return certs.ClientConfig(tlsconf.ClientOptions{ServerRole: tlsconf.RoleLambda, Host: u.Hostname()})
	case u.Scheme == "http" && certs != nil && !isLoopback(u.Hostname()):
		return nil, usageError("--lambda %s: a node with certificates invokes lambdas over https only (invocations carry task credentials); serve lambda-local with --certs-dir and use https://", endpoint)
	}
	return nil, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOf is the host part of HOST:PORT.
func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// loopbackOnly refuses an address a plaintext listener must not serve on.
func loopbackOnly(flag, addr, why string) error {
	if isLoopback(hostOf(addr)) {
		return nil
	}
	return usageError("%s %s: %s, which is allowed on loopback addresses only; give --certs-dir", flag, addr, why)
}
