package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Reading a bundle is done with untrusted bytes (any client can submit
// one), so every limit is checked before the thing it bounds is
// allocated: the file count before the central directory is parsed, the unpacked size from the declared sizes before
// any file is opened, and again from the bytes actually inflated.

// BundleLimits bound what reading a bundle may unpack.
type BundleLimits struct {
	Files int   // entries in the archive
	Bytes int64 // unpacked bytes of every file together
}

// DefaultBundleLimits are `kappa server`'s defaults; a directory program
// is built within them (bundledir.go).
var DefaultBundleLimits = BundleLimits{Files: 10000, Bytes: maxBundleTotal}

// BundleLimitError is a bundle over one of its limits.
type BundleLimitError struct {
	Files bool  // the file count is over (else the unpacked bytes)
	Size  int64 // the bundle's count or size; -1 when reading stopped at the limit
	Limit int64
}

func (e *BundleLimitError) Error() string {
	what, unit := "unpacked size", " bytes"
	if e.Files {
		what, unit = "file count", " files"
	}
	if e.Size < 0 {
		return fmt.Sprintf("the program bundle's %s is more than the limit of %d%s", what, e.Limit, unit)
	}
	return fmt.Sprintf("the program bundle's %s is %d%s; the limit is %d%s", what, e.Size, unit, e.Limit, unit)
}

// maxManifest bounds kappa.json, which is a few fields.
const maxManifest = 64 << 10

// ReadBundle checks a bundle within DefaultBundleLimits and returns its
// manifest and files (kappa.json among them).
func ReadBundle(data []byte) (Manifest, map[string][]byte, error) {
	files := map[string][]byte{}
	m, err := walkBundle(data, DefaultBundleLimits, func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		files[name] = b
		return err
	})
	if err != nil {
		return m, nil, err
	}
	return m, files, nil
}

// CheckBundle checks a bundle as ReadBundle does, keeping none of its
// files: it costs one file's inflation buffer whatever the bundle holds.
func CheckBundle(data []byte, lim BundleLimits) (Manifest, error) {
	return walkBundle(data, lim, func(_ string, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
}

// walkBundle checks the archive and its manifest and hands every other
// file to visit, inflated through a reader that stops at the size limit.
func walkBundle(data []byte, lim BundleLimits, visit func(name string, r io.Reader) error) (Manifest, error) {
	var m Manifest
	if lim.Files <= 0 {
		lim.Files = math.MaxInt
	}
	if lim.Bytes <= 0 {
		lim.Bytes = math.MaxInt64
	}
	// The zip reader allocates per entry of the central directory: bound
	// their number before it runs.
	if entries := bytes.Count(data, centralHeader); entries > lim.Files {
		return m, &BundleLimitError{Files: true, Size: int64(entries), Limit: int64(lim.Files)}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return m, fmt.Errorf("the program bundle is not a zip archive: %w", err)
	}
	var declared uint64
	for _, f := range zr.File {
		declared += min(f.UncompressedSize64, math.MaxInt64)
		if declared > uint64(lim.Bytes) {
			return m, &BundleLimitError{Size: -1, Limit: lim.Bytes}
		}
	}
	var raw []byte
	seen := map[string]bool{}
	left := lim.Bytes
	for _, f := range zr.File {
		if err := checkBundleName(f.Name, seen); err != nil {
			return m, err
		}
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory entry: nothing to unpack
		}
		n, err := readBundleFile(f, left, func(r io.Reader) error {
			if f.Name != manifestName {
				return visit(f.Name, r)
			}
			var err error
			if raw, err = io.ReadAll(io.LimitReader(r, maxManifest+1)); err == nil && len(raw) > maxManifest {
				err = fmt.Errorf("the manifest %s is over %d bytes", manifestName, maxManifest)
			}
			if err == nil {
				err = visit(f.Name, bytes.NewReader(raw))
			}
			return err
		})
		if err != nil {
			return m, err
		}
		if left -= n; left < 0 {
			return m, &BundleLimitError{Size: -1, Limit: lim.Bytes}
		}
	}
	return parseManifest(raw, seen)
}

// readBundleFile inflates one file through fn, reading at most left+1
// bytes, and returns how many it read.
func readBundleFile(f *zip.File, left int64, fn func(io.Reader) error) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("program bundle file %s: %w", f.Name, err)
	}
	defer rc.Close()
	r := &countingReader{r: io.LimitReader(rc, left+1)}
	if err := fn(r); err != nil {
		return r.n, fmt.Errorf("program bundle file %s: %w", f.Name, err)
	}
	// Drain what fn left, so the count (and the zip's checksum) covers
	// the whole file.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return r.n, fmt.Errorf("program bundle file %s: %w", f.Name, err)
	}
	return r.n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func checkBundleName(name string, seen map[string]bool) error {
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return fmt.Errorf("the program bundle has an unsafe path %q", name)
	}
	if seen[name] {
		return fmt.Errorf("the program bundle holds %q twice", name)
	}
	seen[name] = true
	return nil
}

// parseManifest checks kappa.json: present, the format this build reads,
// an entry module that is in the bundle.
func parseManifest(raw []byte, names map[string]bool) (Manifest, error) {
	var m Manifest
	if raw == nil {
		return m, fmt.Errorf("the program bundle is not a Kappa bundle: it has no %s manifest (kappa run and kappa deploy build bundles)", manifestName)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("the program bundle's manifest %s is not valid: %w", manifestName, err)
	}
	if m.Format != 1 {
		return m, fmt.Errorf("the program bundle's format %d is not supported (this build reads format 1)", m.Format)
	}
	if m.Entry == "" || !strings.HasSuffix(m.Entry, ".py") || !names[m.Entry] || m.Entry == manifestName {
		return m, fmt.Errorf("the program bundle's entry %q is not a Python module in the bundle", m.Entry)
	}
	return m, nil
}

// centralHeader starts every entry of a zip's central directory: there
// are at most as many entries as occurrences of it, whatever the
// archive's end record claims.
var centralHeader = []byte("PK\x01\x02")
