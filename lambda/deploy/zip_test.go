package deploy

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestZipTreeIsDeterministicAndLeavesOutBytecode(t *testing.T) {
	build := func(mtime time.Time) []byte {
		dir := t.TempDir()
		for name, body := range map[string]string{"kappa/__init__.py": "", "kappa/worker/handler.py": "x = 1\n",
			"kappa/__pycache__/handler.cpython-311.pyc": "junk", "grpc/_cython/x.so": "ELF", "bin/tool": "#!/bin/sh\n"} {
			p := filepath.Join(dir, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			mode := os.FileMode(0o600)
			if name == "bin/tool" {
				mode = 0o700
			}
			os.WriteFile(p, []byte(body), mode)
			os.Chtimes(p, mtime, mtime)
		}
		b, err := zipTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := build(time.Now()), build(time.Now().Add(-time.Hour))
	if !bytes.Equal(a, b) {
		t.Fatal("the same files at other times give another zip")
	}
	zr, _ := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		want := os.FileMode(0o644)
		if f.Name == "bin/tool" {
			want = 0o755
		}
		if f.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v (Lambda's runtime user must read it)", f.Name, f.Mode().Perm(), want)
		}
	}
	if len(names) != 4 {
		t.Fatalf("zip holds %v; bytecode must be left out", names)
	}
}
