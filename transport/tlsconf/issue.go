package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Validity of what `kappa cert` issues, unless asked otherwise.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 365 * 24 * time.Hour
)

// nameRule is what a node id or client name may be: it is written into
// certificates and compared with Raft's server ids.
var nameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckName refuses a node id or client name a certificate cannot carry.
func CheckName(what, name string) error {
	if !nameRule.MatchString(name) {
		return fmt.Errorf("%s %q: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", what, name)
	}
	return nil
}

// CA is a cluster's certificate authority, loaded with its private key.
type CA struct {
	Dir  string
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

// CreateCA makes a new CA in dir (ca.crt, and ca.key readable by its
// owner only). It refuses to overwrite either file.
func CreateCA(dir string, validity time.Duration) (*CA, error) {
	if validity <= 0 {
		validity = CAValidity
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	if err := refuseExisting(certPath, keyPath); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl, err := template(pkix.Name{CommonName: "Kappa cluster CA " + shortRandom(), OrganizationalUnit: []string{ouPrefix + "ca"}}, validity)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.MaxPathLenZero = true, true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir, key: key, pem: pemBlock("CERTIFICATE", der)}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	if err := writeKeyAndCert(keyPath, key, certPath, ca.pem); err != nil {
		return nil, err
	}
	return ca, nil
}

// LoadCA reads dir's ca.crt and ca.key.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("no CA in %s: %w (make one with `kappa cert create-ca --dir %s`)", dir, unwrapPath(err), dir)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("the CA's key %s: %w (certificates are issued where the CA was created)", filepath.Join(dir, CAKeyFile), unwrapPath(err))
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("%s or %s is not PEM", filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAFile), err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAKeyFile), err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate with its key", dir)
	}
	return &CA{Dir: dir, cert: cert, key: signer, pem: certPEM}, nil
}

// IssueNode writes a node's certs dir: ca.crt, node.crt (Common Name the
// node id, OU kappa:node, usable as server and client, naming hosts as IP
// or DNS subject alternative names) and node.key.
func (ca *CA) IssueNode(out, id string, hosts []string, validity time.Duration) error {
	if err := CheckName("node id", id); err != nil {
		return err
	}
	return ca.issue(out, NodePair, id, hosts, validity)
}

// IssueClient writes a client's certs dir: ca.crt, client.crt (Common Name
// the client's name, OU kappa:<role>) and client.key.
func (ca *CA) IssueClient(out, name string, role Role, validity time.Duration) error {
	if err := CheckName("client name", name); err != nil {
		return err
	}
	known := false
	for _, r := range ClientRoles {
		known = known || r == role
	}
	if !known {
		return fmt.Errorf("role %q: a client is admin, operator, submitter or reader", role)
	}
	return ca.issue(out, Pair{Cert: ClientPair.Cert, Key: ClientPair.Key, Role: role}, name, nil, validity)
}

// IssueLambda writes the local lambda platform's certs dir: ca.crt,
// lambda.crt (a server certificate for hosts that grants nothing on the
// cluster) and lambda.key.
func (ca *CA) IssueLambda(out string, hosts []string, validity time.Duration) error {
	return ca.issue(out, LambdaPair, "lambda-local", hosts, validity)
}

func (ca *CA) issue(out string, p Pair, name string, hosts []string, validity time.Duration) error {
	if validity <= 0 {
		validity = LeafValidity
	}
	if (p.Role == RoleNode || p.Role == RoleLambda) && len(hosts) == 0 {
		return errors.New("--hosts is required: the host names and IP addresses clients reach this server at")
	}
	certPath, keyPath := filepath.Join(out, p.Cert), filepath.Join(out, p.Key)
	if err := refuseExisting(certPath, keyPath); err != nil {
		return err
	}
	tmpl, err := template(pkix.Name{CommonName: name, OrganizationalUnit: []string{ouPrefix + string(p.Role)}}, validity)
	if err != nil {
		return err
	}
	if notAfter := ca.cert.NotAfter; tmpl.NotAfter.After(notAfter) {
		tmpl.NotAfter = notAfter
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	switch p.Role {
	case RoleNode:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case RoleLambda:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch ip := net.ParseIP(h); {
		case h == "":
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		default:
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(out); err == nil {
		if err := ca.writeCACopy(out); err != nil {
			return err
		}
		return writeKeyAndCert(keyPath, key, certPath, pemBlock("CERTIFICATE", der))
	}
	// A new certs dir appears whole (a client waiting for it never sees
	// ca.crt without the certificate): made aside, then renamed.
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := ca.writeCACopy(tmp); err != nil {
		return err
	}
	if err := writeKeyAndCert(filepath.Join(tmp, p.Key), key, filepath.Join(tmp, p.Cert), pemBlock("CERTIFICATE", der)); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// writeCACopy puts ca.crt into out, unless it is already there (the same).
func (ca *CA) writeCACopy(out string) error {
	path := filepath.Join(out, CAFile)
	if have, err := os.ReadFile(path); err == nil {
		if string(have) != string(ca.pem) {
			return fmt.Errorf("%s holds another CA's certificate; issue into another directory (--out)", path)
		}
		return nil
	}
	return writeNew(path, ca.pem, 0o644)
}

func template(subject pkix.Name, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		// A little slack for clocks that disagree.
		NotBefore: now.Add(-5 * time.Minute),
		NotAfter:  now.Add(validity),
	}, nil
}

func writeKeyAndCert(keyPath string, key *ecdsa.PrivateKey, certPath string, certPEM []byte) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(keyPath, pemBlock("PRIVATE KEY", der), 0o600); err != nil {
		return err
	}
	return writeNew(certPath, certPEM, 0o644)
}

// writeNew creates path with mode (never replacing a file).
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; refusing to overwrite it (remove it first, or issue into another directory)", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func refuseExisting(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists; refusing to overwrite it (remove it first, or issue into another directory)", p)
		}
	}
	return nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func shortRandom() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
