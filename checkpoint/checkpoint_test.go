package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirStoreIsCreateOnly(t *testing.T) {
	ctx := context.Background()
	s, err := Open("file://" + t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := CheckpointKey(1, 2, 3, 4)
	if key != "jobs/j1/t2/e3-s4.ckpt" {
		t.Fatalf("key layout changed: %s", key)
	}
	if err := s.Put(ctx, key, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("two")); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite must fail with ErrExists, got %v", err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || string(got) != "one" {
		t.Fatalf("get %q %v", got, err)
	}
	if _, err := s.Get(ctx, CheckpointKey(1, 2, 3, 5)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	s.Put(ctx, CheckpointKey(1, 3, 1, 1), []byte("x"))
	keys, _ := s.List(ctx, TaskPrefix(1, 2))
	if len(keys) != 1 || keys[0] != key {
		t.Fatalf("list %v", keys)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Exists(ctx, key); ok {
		t.Fatal("deleted key still exists")
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Join(s.(*Dir).Root(), "jobs/j1/t2"))
	if len(entries) != 0 {
		t.Fatalf("leftovers: %v", entries)
	}
}

func TestKeysCannotEscapeTheStore(t *testing.T) {
	for _, k := range []string{"../x", "a/../../b", "/abs", "a//b", "a/.hidden", "sp ace", ""} {
		if ValidKey(k) == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if _, err := Open("redis2://x"); err == nil || !strings.Contains(err.Error(), "unsupported scheme") {
		t.Fatalf("bad scheme: %v", err)
	}
}

func TestBundleIsDeterministicAndChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.py")
	os.WriteFile(p, []byte("def handler(event, context):\n    return 1\n"), 0o644)
	a, ha, err := BuildBundle(p)
	if err != nil {
		t.Fatal(err)
	}
	b, hb, _ := BuildBundle(p)
	if ha != hb || string(a) != string(b) || ha != BundleHash(a) {
		t.Fatal("the same program must give the same bundle and hash")
	}
	m, files, err := ReadBundle(a)
	if err != nil || m.Entry != "app.py" || !strings.Contains(string(files["app.py"]), "handler") {
		t.Fatalf("read: %v %v", m, err)
	}
	if _, _, err := BuildBundle(dir); err == nil || !strings.Contains(err.Error(), "has no main.py") {
		t.Fatalf("directory: %v", err)
	}
	if _, _, err := ReadBundle([]byte("not a zip")); err == nil {
		t.Fatal("garbage bundle accepted")
	}
}
