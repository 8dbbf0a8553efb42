package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// KeyFile is a node's cluster key file, re-read whenever it changes on
// disk, so keys added for a rotation (or an old key removed after one) take
// effect without a restart.
type KeyFile struct {
	path string

	mu    sync.Mutex
	ring  *Keyring
	mtime time.Time
	size  int64
	mode  os.FileMode
}

// OpenKeyFile loads a key file; it must load now.
func OpenKeyFile(path string) (*KeyFile, error) {
	f := &KeyFile{path: path}
	if _, err := f.Keyring(); err != nil {
		return nil, err
	}
	return f, nil
}

// EnsureKeyFile opens the key file at path, first writing one with a fresh
// key "k1" when there is none: for clusters that make their own keys (the
// embedded default, development clusters, tests).
func EnsureKeyFile(path string) (*KeyFile, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		ring, err := NewKeyring("k1")
		if err != nil {
			return nil, err
		}
		if err := WriteKeyring(path, ring, false); err != nil {
			return nil, err
		}
	}
	return OpenKeyFile(path)
}

// Path is the file's path.
func (f *KeyFile) Path() string { return f.path }

// Keyring is the file's current keyring. A file that changed and no
// longer loads (say, mid-edit, or opened to others) is an error: callers
// refuse what needs keys rather than act on a keyring the operator is
// replacing.
func (f *KeyFile) Keyring() (*Keyring, error) {
	info, err := os.Stat(f.path)
	if err != nil {
		return nil, fmt.Errorf("cluster key file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ring != nil && info.ModTime().Equal(f.mtime) && info.Size() == f.size && info.Mode() == f.mode {
		return f.ring, nil
	}
	ring, err := LoadKeyring(f.path)
	if err != nil {
		return nil, err
	}
	f.ring, f.mtime, f.size, f.mode = ring, info.ModTime(), info.Size(), info.Mode()
	return ring, nil
}
