package checkpoint

import (
	"bytes"
	"path/filepath"
	"testing"
)

// --no-auto-pauses is recorded in the manifest, so it changes the bundle's
// hash (a job pins how its program is compiled); without it the manifest
// is as before, and so are existing programs' hashes.
func TestBundleOptionsAreInTheManifest(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, dirProgram)
	file := filepath.Join(dir, "helpers.py")
	for _, path := range []string{dir, file} {
		plain, plainHash, err := BuildBundle(path)
		if err != nil {
			t.Fatal(err)
		}
		off, offHash, err := BuildBundleWith(path, BundleOptions{NoAutoPauses: true})
		if err != nil {
			t.Fatal(err)
		}
		if plainHash == offHash {
			t.Fatalf("%s: the option did not change the bundle's hash", path)
		}
		m, files, err := ReadBundle(off)
		if err != nil || !m.NoAutoPauses {
			t.Fatalf("%s: manifest %+v, err %v: want no_auto_pauses", path, m, err)
		}
		if !bytes.Contains(files[manifestName], []byte(`"no_auto_pauses":true`)) {
			t.Fatalf("%s: manifest %s", path, files[manifestName])
		}
		m, files, err = ReadBundle(plain)
		if err != nil || m.NoAutoPauses || bytes.Contains(files[manifestName], []byte("auto_pauses")) {
			t.Fatalf("%s: default manifest %s (err %v) should not mention auto pauses", path, files[manifestName], err)
		}
	}
}
