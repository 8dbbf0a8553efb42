// Package tlsconf is Kappa's certificates: the layout of a certs dir, TLS
// configurations for every listener and dialer that re-read the files when
// they change (so a rotated certificate needs no restart), the identity a
// verified certificate states (role and name), and issuing certificates
// from a cluster CA (`kappa cert`).
//
// A certs dir holds ca.crt (the cluster's CA, which every side trusts) and
// the key pairs its owner uses: node.crt/node.key for a coordinator node
// (server of the API and Raft ports, and client of its peers),
// client.crt/client.key for a person or program using the API,
// lambda.crt/lambda.key for `kappa lambda-local`.
package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The files of a certs dir.
const (
	CAFile    = "ca.crt"
	CAKeyFile = "ca.key" // only where certificates are issued; never on a node
)

// Pair names the certificate and key files of one kind of holder.
type Pair struct {
	Cert, Key string
	Role      Role // the role its certificate must state
}

// The key pairs of a certs dir.
var (
	NodePair   = Pair{Cert: "node.crt", Key: "node.key", Role: RoleNode}
	ClientPair = Pair{Cert: "client.crt", Key: "client.key"} // any client role
	LambdaPair = Pair{Cert: "lambda.crt", Key: "lambda.key", Role: RoleLambda}
)

// MinVersion is the oldest TLS version any Kappa side speaks.
const MinVersion = tls.VersionTLS12

// Certs is a loaded certs dir. Every configuration it makes reads the
// files again when their size or modification time changed (checked at
// each handshake: a few stat calls), so new connections use a rotated
// certificate or CA at once. A change that does not load (a key that no
// longer matches its certificate halfway through a copy, a truncated
// file) keeps the last good files in use; Err reports it.
type Certs struct {
	dir   string
	ca    watched[*x509.CertPool]
	caPEM watched[[]byte]

	mu    sync.Mutex
	pairs map[Pair]*watched[*tls.Certificate]
}

// Load opens a certs dir; it needs a valid ca.crt now. Key pairs are
// checked when a configuration asks for them.
func Load(dir string) (*Certs, error) {
	if dir == "" {
		return nil, errors.New("no certs dir given")
	}
	c := &Certs{dir: dir, pairs: map[Pair]*watched[*tls.Certificate]{}}
	c.ca = watched[*x509.CertPool]{files: []string{filepath.Join(dir, CAFile)}, load: loadPool}
	c.caPEM = watched[[]byte]{files: c.ca.files, load: func(b [][]byte) ([]byte, error) {
		_, err := loadPool(b)
		return append(b[0], '\n'), err
	}}
	if _, err := c.ca.get(); err != nil {
		return nil, err
	}
	return c, nil
}

// Dir is the certs dir.
func (c *Certs) Dir() string { return c.dir }

// Has says whether the dir holds both files of p (it may still fail to
// load).
func (c *Certs) Has(p Pair) bool {
	for _, f := range []string{p.Cert, p.Key} {
		if _, err := os.Stat(filepath.Join(c.dir, f)); err != nil {
			return false
		}
	}
	return true
}

// CAPEM is the current ca.crt, as PEM (public: it is handed to workers).
func (c *Certs) CAPEM() ([]byte, error) { return c.caPEM.get() }

// Pool is the current CA pool.
func (c *Certs) Pool() (*x509.CertPool, error) { return c.ca.get() }

// Certificate is the current certificate and key of p.
func (c *Certs) Certificate(p Pair) (*tls.Certificate, error) {
	c.mu.Lock()
	w := c.pairs[p]
	if w == nil {
		w = &watched[*tls.Certificate]{files: []string{filepath.Join(c.dir, p.Cert), filepath.Join(c.dir, p.Key)},
			load: func(b [][]byte) (*tls.Certificate, error) { return loadPair(b, p) }}
		c.pairs[p] = w
	}
	c.mu.Unlock()
	return w.get()
}

// Identity is who p's current certificate names.
func (c *Certs) Identity(p Pair) (Identity, error) {
	cert, err := c.Certificate(p)
	if err != nil {
		return Identity{}, err
	}
	id, _ := IdentityOf(cert.Leaf)
	return id, nil
}

// Err is the latest error loading a changed file (nil when every file in
// use loaded as it is on disk): a rotation that went wrong shows here
// while the previous files stay in use.
func (c *Certs) Err() error {
	if err := c.ca.lastErr(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.pairs {
		if err := w.lastErr(); err != nil {
			return err
		}
	}
	return nil
}

func loadPool(b [][]byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b[0]) {
		return nil, errors.New("holds no PEM certificate")
	}
	return pool, nil
}

func loadPair(b [][]byte, p Pair) (*tls.Certificate, error) {
	pair, err := tls.X509KeyPair(b[0], b[1])
	if err != nil {
		return nil, err
	}
	id, ok := IdentityOf(pair.Leaf)
	switch {
	case !ok:
		return nil, fmt.Errorf("%s names no Kappa role (its Subject needs OU kappa:<role> and a Common Name; make it with `kappa cert`)", p.Cert)
	case p.Role != "" && id.Role != p.Role:
		return nil, fmt.Errorf("%s is a %s certificate, not a %s certificate", p.Cert, id.Role, p.Role)
	case p.Role == "" && (id.Role == RoleNode || id.Role == RoleLambda):
		return nil, fmt.Errorf("%s is a %s certificate, not a client certificate", p.Cert, id.Role)
	}
	if time.Now().After(pair.Leaf.NotAfter) {
		return nil, fmt.Errorf("%s expired on %s", p.Cert, pair.Leaf.NotAfter.Format(time.DateOnly))
	}
	return &pair, nil
}

// watched is a value made from files, made again when any file's size or
// modification time changes.
type watched[T any] struct {
	files []string
	load  func([][]byte) (T, error)

	mu    sync.Mutex
	stamp []fileStamp
	val   T
	ok    bool
	err   error // the latest failed reload, while val is still the old one
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func (w *watched[T]) get() (T, error) {
	stamp, err := stat(w.files)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && w.ok && equalStamps(stamp, w.stamp) {
		return w.val, nil
	}
	if err == nil {
		var contents [][]byte
		if contents, err = readAll(w.files); err == nil {
			var v T
			if v, err = w.load(contents); err == nil {
				w.val, w.ok, w.stamp, w.err = v, true, stamp, nil
				return v, nil
			}
			err = fmt.Errorf("%s: %w", filesName(w.files), err)
		}
	}
	if w.ok {
		w.err = err // keep serving what worked
		return w.val, nil
	}
	var zero T
	return zero, err
}

func (w *watched[T]) lastErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func stat(files []string) ([]fileStamp, error) {
	out := make([]fileStamp, len(files))
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, describeMissing(f, err)
		}
		out[i] = fileStamp{fi.Size(), fi.ModTime()}
	}
	return out, nil
}

func readAll(files []string) ([][]byte, error) {
	out := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, describeMissing(f, err)
		}
		out[i] = bytes.TrimSpace(b)
	}
	return out, nil
}

func describeMissing(f string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist (make it with `kappa cert`; docs/security.md)", f)
	}
	return err
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].size != b[i].size || !a[i].mod.Equal(b[i].mod) {
			return false
		}
	}
	return true
}

func filesName(files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	return files[0] + " and " + filepath.Base(files[1])
}
