package checkpoint

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyringFileRoundTripAndMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.keys")
	k, err := NewKeyring("k1")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyring(path, k, false); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	if err := WriteKeyring(path, k, false); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("overwrite: %v", err)
	}
	back, err := LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint("k1") != k.Fingerprint("k1") || len(back.Fingerprint("k1")) != 64 || back.Fingerprint("k2") != "" {
		t.Fatal("the keyring read back differs")
	}
	os.Chmod(path, 0o640)
	_, err = LoadKeyring(path)
	if err == nil || !strings.Contains(err.Error(), "mode 0640") || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("a group-readable key file: %v", err)
	}
}

func TestKeyringParseErrorsNameTheLineNeverTheKey(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	short := base64.StdEncoding.EncodeToString([]byte("too short but secret"))
	for _, c := range []struct{ text, want string }{
		{"", "holds no key"},
		{"# only a comment\n", "holds no key"},
		{"k1 " + key + "\nk1 " + key + "\n", "f:2: key id \"k1\" appears twice"},
		{"k1 " + short + "\n", "f:1: the key of id \"k1\" is not 32 bytes"},
		{"k1\n", "f:1: want \"KEY-ID BASE64-KEY\""},
		{"legacy " + key + "\n", "reserved"},
		{"../x " + key + "\n", "use 1 to 64 letters"},
	} {
		_, err := ParseKeyring("f", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), short) {
			t.Errorf("the error prints key material: %v", err)
		}
	}
	k, err := ParseKeyring("f", []byte("# comment\n\nk2 "+key+"\n  k1 "+key+"  \n"))
	if err != nil || strings.Join(k.IDs(), ",") != "k2,k1" {
		t.Fatalf("ids %v %v", k, err)
	}
}

// Job keys differ per job, per cluster and per key id, and none equals a
// master key: a worker holding one job's key learns nothing of another's.
func TestJobKeysAreIndependent(t *testing.T) {
	k, _ := NewKeyring("k1")
	if err := k.Generate("k2"); err != nil {
		t.Fatal(err)
	}
	if err := k.Generate("k2"); err == nil {
		t.Fatal("a duplicate id was generated")
	}
	seen := map[string]bool{}
	for _, id := range []string{"k1", "k2"} {
		for _, cluster := range []string{"c1", "c2"} {
			for job := uint64(1); job <= 3; job++ {
				jk, err := k.JobKey(id, cluster, job)
				if err != nil || len(jk) != KeySize || seen[string(jk)] || string(jk) == string(k.keys[id]) {
					t.Fatalf("job key %s/%s/j%d: %v", id, cluster, job, err)
				}
				seen[string(jk)] = true
			}
		}
	}
	if _, err := k.JobKey("k9", "c1", 1); err == nil || !strings.Contains(err.Error(), `"k9"`) {
		t.Fatalf("unknown id: %v", err)
	}
	if err := k.Remove("k1"); err != nil || k.Has("k1") || strings.Join(k.IDs(), ",") != "k2" {
		t.Fatalf("remove: %v %v", err, k.IDs())
	}
	if err := k.Remove("k2"); err == nil {
		t.Fatal("the last key was removed")
	}
}

// A key file is re-read when it changes: keys added for a rotation show
// without a restart, and a file opened to others is refused at once.
func TestKeyFileReloadsWhenChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	k, _ := NewKeyring("k1")
	WriteKeyring(path, k, false)
	f, err := OpenKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k.Generate("k2")
	WriteKeyring(path, k, true)
	os.Chtimes(path, time.Now(), time.Now().Add(time.Second))
	ring, err := f.Keyring()
	if err != nil || !ring.Has("k2") {
		t.Fatalf("after adding k2: %v %v", ring, err)
	}
	os.Chmod(path, 0o644)
	if _, err := f.Keyring(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("after chmod 644: %v", err)
	}
	if _, err := OpenKeyFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing key file opened")
	}
}

func TestStoreURLsAreRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"redis://:s3cret@127.0.0.1:6379/0":            "redis://:***@127.0.0.1:6379/0",
		"rediss://kappa:p%40ss@h:6380/1?wait=1":       "rediss://kappa:***@h:6380/1?wait=1",
		"redis://127.0.0.1:6379/0":                    "redis://127.0.0.1:6379/0",
		"file:///var/lib/kappa/store":                 "file:///var/lib/kappa/store",
		"redis://:s3cret@host:bad/0":                  "(unparsable store URL)",
		"redis://kappa-worker@127.0.0.1:6379/0":       "redis://kappa-worker@127.0.0.1:6379/0",
		"redis://kappa-worker:s3cret@127.0.0.1:6379/": "redis://kappa-worker:***@127.0.0.1:6379/",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%s) = %s, want %s", in, got, want)
		}
	}
	u, err := WithPassword("redis://kappa@h:6379/0", "p@ss:word")
	if err != nil || !HasPassword(u) || RedactURL(u) != "redis://kappa:***@h:6379/0" || WithoutCredentials(u) != "redis://h:6379/0" {
		t.Fatalf("WithPassword: %s %v", u, err)
	}
	if _, err := WithPassword("redis://:a@h/0", "b"); err == nil || strings.Contains(err.Error(), ":a@") {
		t.Fatalf("two passwords: %v", err)
	}
	if _, err := Open("redis://:s3cret@host:bad/0"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an unparsable URL's error shows the password: %v", err)
	}
	if _, err := Open("ftp://:s3cret@host/0"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("an unsupported scheme's error shows the password: %v", err)
	}
}

func TestPasswordFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	os.WriteFile(p, []byte("  s3cret\n"), 0o600)
	if pw, err := ReadPasswordFile(p, "--store-password-file"); err != nil || pw != "s3cret" {
		t.Fatalf("%q %v", pw, err)
	}
	os.Chmod(p, 0o604)
	if _, err := ReadPasswordFile(p, "--store-password-file"); err == nil || !strings.Contains(err.Error(), "--store-password-file "+p+" has mode 0604") {
		t.Fatalf("world-readable: %v", err)
	}
	e := filepath.Join(dir, "empty")
	os.WriteFile(e, []byte("\n"), 0o600)
	if _, err := ReadPasswordFile(e, "--store-password-file"); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("empty: %v", err)
	}
}
