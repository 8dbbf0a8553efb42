package checkpoint

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const manifestJSON = `{"format":1,"entry":"app.py"}`

// bombOf is a zip of files (name → size) of zeros, deflated: sizes add up
// to far more than the archive's few hundred KiB.
func bombOf(t testing.TB, sizes map[string]int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		zero := make([]byte, 1<<20)
		for left := sizes[name]; left > 0; left -= len(zero) {
			w.Write(zero[:min(left, len(zero))])
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lyingBomb is a zip whose one file declares 10 bytes and inflates to
// size: a reader trusting the declared size would allocate it all.
func lyingBomb(t testing.TB, size int) []byte {
	t.Helper()
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	fw.Write(make([]byte, size))
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"kappa.json": []byte(manifestJSON), "app.py": []byte("x = 1\n")} {
		w, _ := zw.Create(name)
		w.Write(data)
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "data.bin", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(make([]byte, size)),
		CompressedSize64: uint64(deflated.Len()), UncompressedSize64: 10})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(deflated.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestBundleLimitsAreCheckedBeforeUnpacking(t *testing.T) {
	lim := BundleLimits{Files: 100, Bytes: 64 << 20}
	bomb := bombOf(t, map[string]int{"kappa.json": 0, "a.bin": 40 << 20, "b.bin": 40 << 20})
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	var tooBig *BundleLimitError
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := CheckBundle(bomb, lim)
	runtime.ReadMemStats(&after)
	if !errors.As(err, &tooBig) || tooBig.Files || tooBig.Limit != 64<<20 {
		t.Fatalf("an 80 MiB bomb: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes", grew)
	}
	// A file that declares 10 bytes and inflates to 70 MiB stops at the
	// limit (the zip reader also refuses more than the declared size).
	lying := lyingBomb(t, 70<<20)
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = CheckBundle(lying, lim)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a file inflating past its declared size was accepted")
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Fatalf("refusing the lying bomb allocated %d bytes", grew)
	}
	// Declared sizes within the limit, real ones beyond: ReadBundle keeps
	// files, and stops at the limit too.
	if _, _, err := ReadBundle(lying); err == nil {
		t.Fatal("ReadBundle accepted a lying bomb")
	}
}

func TestBundleFileCountIsBoundedBeforeTheDirectoryIsParsed(t *testing.T) {
	files := map[string]int{"kappa.json": 0}
	for i := range 300 {
		files[fmt.Sprintf("m%03d.py", i)] = 1
	}
	many := bombOf(t, files)
	var tooMany *BundleLimitError
	if _, err := CheckBundle(many, BundleLimits{Files: 200, Bytes: 1 << 20}); !errors.As(err, &tooMany) || !tooMany.Files || tooMany.Size != 301 {
		t.Fatalf("301 files against a limit of 200: %v", err)
	}
	// An end record that claims fewer entries changes nothing: the bound
	// counts the directory's headers.
	patched := append([]byte(nil), many...)
	end := bytes.LastIndex(patched, []byte("PK\x05\x06"))
	patched[end+8], patched[end+9], patched[end+10], patched[end+11] = 1, 0, 1, 0
	if _, err := CheckBundle(patched, BundleLimits{Files: 200, Bytes: 1 << 20}); !errors.As(err, &tooMany) {
		t.Fatalf("a lying end record: %v", err)
	}
}

func TestOnlyKappaBundlesAreAccepted(t *testing.T) {
	build := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, data := range files {
			w, _ := zw.Create(name)
			w.Write([]byte(data))
		}
		zw.Close()
		return buf.Bytes()
	}
	for want, files := range map[string]map[string]string{
		"no kappa.json manifest":      {"app.py": "x = 1"},
		"manifest kappa.json is not":  {"kappa.json": "{not json", "app.py": ""},
		"format 3 is not supported":   {"kappa.json": `{"format":3,"entry":"app.py"}`, "app.py": ""},
		`entry "main.py" is not`:      {"kappa.json": `{"format":1,"entry":"main.py"}`, "app.py": ""},
		`entry "data.txt" is not`:     {"kappa.json": `{"format":1,"entry":"data.txt"}`, "data.txt": ""},
		`unsafe path "../evil.py"`:    {"kappa.json": manifestJSON, "app.py": "", "../evil.py": ""},
		`unsafe path "/etc/passwd"`:   {"kappa.json": manifestJSON, "app.py": "", "/etc/passwd": ""},
		"manifest kappa.json is over": {"kappa.json": manifestJSON + strings.Repeat(" ", 70<<10), "app.py": ""},
	} {
		_, err := CheckBundle(build(files), DefaultBundleLimits)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want %q", files, err, want)
		}
	}
	for _, junk := range [][]byte{nil, []byte("PK"), []byte("not a zip at all, but long enough to look for an end record")} {
		if _, err := CheckBundle(junk, DefaultBundleLimits); err == nil || !strings.Contains(err.Error(), "not a zip archive") {
			t.Errorf("%q: %v", junk, err)
		}
	}
	var twice bytes.Buffer
	zw := zip.NewWriter(&twice)
	for _, name := range []string{"kappa.json", "app.py", "app.py"} {
		w, _ := zw.Create(name)
		w.Write([]byte(manifestJSON))
	}
	zw.Close()
	if _, err := CheckBundle(twice.Bytes(), DefaultBundleLimits); err == nil || !strings.Contains(err.Error(), `holds "app.py" twice`) {
		t.Errorf("a name twice: %v", err)
	}
	ok := build(map[string]string{"kappa.json": manifestJSON, "app.py": "x = 1", "pkg/": ""})
	if m, err := CheckBundle(ok, DefaultBundleLimits); err != nil || m.Entry != "app.py" {
		t.Fatalf("a good bundle: %v %v", m, err)
	}
}
