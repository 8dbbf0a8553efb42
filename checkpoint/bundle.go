package checkpoint

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A program bundle is a zip of the program's files plus a manifest,
// kappa.json, naming the entry module. It is stored by the SHA-256 of its
// bytes; a job pins that hash and workers refuse bytes that don't match it.
// Bundles are built deterministically, so the same program has one hash.

// Manifest is kappa.json inside a bundle.
type Manifest struct {
	Format int    `json:"format"`
	Entry  string `json:"entry"`
	// NoAutoPauses: workers compile the program without automatic pause
	// points, so it pauses only at its explicit checkpoints and Kappa
	// calls (kappa run --no-auto-pauses). Part of the bundle, and so of its
	// hash: a job pins how its program is compiled.
	NoAutoPauses bool `json:"no_auto_pauses,omitempty"`
}

// BundleOptions say how workers compile a bundled program.
type BundleOptions struct {
	NoAutoPauses bool
}

const manifestName = "kappa.json"

// maxBundleFile bounds one file in a bundle; programs are source code.
const maxBundleFile = 16 << 20

// BuildBundle bundles a program: a .py file, or a directory whose entry
// module is main.py (bundledir.go).
func BuildBundle(path string) (data []byte, hash string, err error) {
	return BuildBundleWith(path, BundleOptions{})
}

// BuildBundleWith bundles a program with compile options in its manifest.
func BuildBundleWith(path string, o BundleOptions) (data []byte, hash string, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("program %s does not exist", path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("program %s: %w", path, err)
	}
	if info.IsDir() {
		return buildDirBundle(path, o)
	}
	if !strings.HasSuffix(path, ".py") {
		return nil, "", fmt.Errorf("program %s: expected a Python file ending in .py, or a directory with a %s", path, DirEntry)
	}
	if info.Size() > maxBundleFile {
		return nil, "", fmt.Errorf("program %s is %d bytes; the limit is %d", path, info.Size(), maxBundleFile)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("program %s: %w", path, err)
	}
	name := filepath.Base(path)
	return buildZip(map[string][]byte{name: src}, Manifest{Format: 1, Entry: name, NoAutoPauses: o.NoAutoPauses})
}

func buildZip(files map[string][]byte, m Manifest) ([]byte, string, error) {
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	files[manifestName] = manifest
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	epoch := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: epoch})
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, "", err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), BundleHash(buf.Bytes()), nil
}

// BundleHash is the content hash a job pins.
func BundleHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
