package checkpoint

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var dirProgram = map[string]string{
	"main.py":              "import helpers\ndef handler(event, context):\n    return helpers.f()\n",
	"helpers.py":           "def f():\n    return 1\n",
	"pkg/__init__.py":      "",
	"pkg/sub.py":           "X = 2\n",
	"requirements.txt":     "six\n",
	"__pycache__/x.pyc":    "junk",
	".git/config":          "junk",
	"venv/pyvenv.cfg":      "home = /usr",
	"venv/lib/site.py":     "junk",
	"pkg/__pycache__/a.py": "junk",
}

func TestDirectoryBundleHoldsTheProgramAndIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeTree(t, a, dirProgram)
	writeTree(t, b, dirProgram)
	// Other modification times and another place give the same bytes.
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(b, "helpers.py"), old, old)
	da, ha, err := BuildBundle(a)
	if err != nil {
		t.Fatal(err)
	}
	db, hb, err := BuildBundle(b)
	if err != nil || ha != hb || string(da) != string(db) {
		t.Fatalf("same program, different bundles (%v)", err)
	}
	m, files, err := ReadBundle(da)
	if err != nil || m.Entry != DirEntry {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	want := "helpers.py kappa.json main.py pkg/__init__.py pkg/sub.py requirements.txt"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("bundled %q, want %q", got, want)
	}
	// Any module's content is part of the hash.
	os.WriteFile(filepath.Join(b, "pkg", "sub.py"), []byte("X = 3\n"), 0o644)
	if _, hc, _ := BuildBundle(b); hc == ha {
		t.Fatal("changing a module kept the hash")
	}
}

func TestDirectoryWithoutEntryIsAClearError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"app.py": "def handler(e, c): pass\n"})
	_, _, err := BuildBundle(dir)
	if err == nil || !strings.Contains(err.Error(), "has no main.py") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v", err)
	}
}
