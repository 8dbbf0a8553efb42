package checkpoint

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// A cluster keyring holds the master keys that every blob's MAC derives
// from, by key id. Every node reads the same keyring from its own file
// (--cluster-key-file); the keys never enter the Raft log or a snapshot,
// which hold only the current key id and each key's public fingerprint.
// Workers never see a master key: a task's claim grant carries only its
// job's keys, derived per key id (JobKey).
//
// The file has one key per line, "KEY-ID BASE64-OF-32-BYTES"; blank lines
// and lines starting with # are ignored. It must be readable by its owner
// only (mode 0600 or stricter).

// KeySize is the size of a master key and of a derived job key.
const KeySize = 32

// LegacyKeyID names the cluster-wide key of clusters created before key
// files existed: envelopes without a key id were sealed with it. It is
// never a key id in a file.
const LegacyKeyID = "legacy"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidKeyID says why id cannot name a key, or nil.
func ValidKeyID(id string) error {
	if id == LegacyKeyID {
		return fmt.Errorf("key id %q is reserved for the key of clusters created before key files", id)
	}
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("key id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// Keyring is a set of master keys by id, in file order.
type Keyring struct {
	ids  []string
	keys map[string][]byte
}

// NewKeyring returns a keyring holding one fresh random key.
func NewKeyring(id string) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}}
	return k, k.Generate(id)
}

// Generate adds a fresh random key under a new id.
func (k *Keyring) Generate(id string) error {
	if err := ValidKeyID(id); err != nil {
		return err
	}
	if k.Has(id) {
		return fmt.Errorf("the keyring already holds key id %q", id)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("no randomness for a key: %w", err)
	}
	k.ids = append(k.ids, id)
	k.keys[id] = key
	return nil
}

// Remove drops a key id (the file's last key cannot go).
func (k *Keyring) Remove(id string) error {
	if !k.Has(id) {
		return fmt.Errorf("the keyring holds no key id %q", id)
	}
	if len(k.ids) == 1 {
		return fmt.Errorf("key id %q is the keyring's only key", id)
	}
	delete(k.keys, id)
	for i, have := range k.ids {
		if have == id {
			k.ids = append(k.ids[:i:i], k.ids[i+1:]...)
			break
		}
	}
	return nil
}

// IDs lists the key ids in file order; the first is the one a new cluster
// starts with.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Has says whether the keyring holds id.
func (k *Keyring) Has(id string) bool { _, ok := k.keys[id]; return ok }

// Fingerprint is the public fingerprint of key id ("" when absent).
func (k *Keyring) Fingerprint(id string) string {
	key, ok := k.keys[id]
	if !ok {
		return ""
	}
	return Fingerprint(key)
}

// JobKey derives job's key under key id for the cluster.
func (k *Keyring) JobKey(id, cluster string, job uint64) ([]byte, error) {
	master, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("the cluster key file holds no key id %q", id)
	}
	return DeriveJobKey(master, cluster, job), nil
}

// Fingerprint is HMAC-SHA256(key, "kappa key check") in hex: it tells two
// keys apart without revealing either, so the replicated state can hold it.
func Fingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kappa key check"))
	return hex.EncodeToString(m.Sum(nil))
}

// DeriveJobKey is HKDF-SHA256 of a master key, salted with the cluster id,
// with info "kappa job key " followed by the job id in decimal: each job's
// key verifies only that job's blobs.
func DeriveJobKey(master []byte, cluster string, job uint64) []byte {
	key, err := hkdf.Key(sha256.New, master, []byte(cluster), "kappa job key "+strconv.FormatUint(job, 10), KeySize)
	if err != nil {
		// Only a length beyond 255 hash blocks fails; ours is one block.
		panic("checkpoint: HKDF: " + err.Error())
	}
	return key
}

// ParseKeyring reads a key file's text; name says where it came from in
// errors. No error ever quotes a line (it would print a key).
func ParseKeyring(name string, data []byte) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := fmt.Sprintf("%s:%d", name, i+1)
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: want \"KEY-ID BASE64-KEY\" (%d fields found)", at, len(fields))
		}
		id := fields[0]
		if err := ValidKeyID(id); err != nil {
			return nil, fmt.Errorf("%s: %v", at, err)
		}
		key, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("%s: the key of id %q is not %d bytes in base64 (make keys with `kappa keys generate`)", at, id, KeySize)
		}
		if k.Has(id) {
			return nil, fmt.Errorf("%s: key id %q appears twice", at, id)
		}
		k.ids = append(k.ids, id)
		k.keys[id] = key
	}
	if len(k.ids) == 0 {
		return nil, fmt.Errorf("%s holds no key (make one with `kappa keys generate %s`)", name, name)
	}
	return k, nil
}

// Marshal is the keyring as file text.
func (k *Keyring) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# Kappa cluster keys: one \"KEY-ID BASE64-KEY\" per line. Secret: keep this file mode 0600,\n")
	b.WriteString("# the same on every node (docs/security.md, \"Keys\").\n")
	for _, id := range k.ids {
		fmt.Fprintf(&b, "%s %s\n", id, base64.StdEncoding.EncodeToString(k.keys[id]))
	}
	return b.Bytes()
}

// LoadKeyring reads a key file, refusing one that others may read.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := ReadSecretFile(path, "cluster key file")
	if err != nil {
		return nil, err
	}
	return ParseKeyring(path, data)
}

// WriteKeyring writes a keyring to path with mode 0600 (atomically: a
// node reading the file sees the old or the new keyring). An existing
// file is replaced only when replace is set.
func WriteKeyring(path string, k *Keyring, replace bool) error {
	if _, err := os.Stat(path); err == nil && !replace {
		return fmt.Errorf("%s exists; refusing to overwrite a key file (add keys with `kappa keys add`)", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(k.Marshal()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// ReadSecretFile reads a file that holds a secret (what says which, in
// errors), refusing it when its group or others may read or write it.
func ReadSecretFile(path, what string) ([]byte, error) {
	if err := CheckSecretFileMode(path, what); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return data, nil
}

// CheckSecretFileMode refuses a file that its group or others may access.
func CheckSecretFileMode(path, what string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: it holds a secret, so only its owner may read it (chmod 600 %s)", what, path, perm, path)
	}
	return nil
}
