package checkpoint

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzBundle: any bytes submitted as a program bundle are read within the
// limits or refused, never a panic; what CheckBundle accepts ReadBundle
// accepts too, with the same manifest, and no more unpacked bytes than
// the limit.
func FuzzBundle(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "app.py")
	os.WriteFile(p, []byte("def handler(event, context):\n    return 1\n"), 0o644)
	good, _, err := BuildBundleWith(p, BundleOptions{NoAutoPauses: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bombOf(f, map[string]int{"kappa.json": 0, "a.bin": 2 << 20}))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	lim := BundleLimits{Files: 64, Bytes: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := CheckBundle(data, lim)
		if err != nil {
			return
		}
		var total int64
		m2, err := walkBundle(data, lim, func(_ string, r io.Reader) error {
			var buf bytes.Buffer
			n, err := buf.ReadFrom(r)
			total += n
			return err
		})
		if err != nil || m2 != m || total > lim.Bytes {
			t.Fatalf("CheckBundle accepted what reading refuses or exceeds: %v, %d bytes", err, total)
		}
	})
}

// FuzzEnvelope: any bytes open as an envelope or are refused, never a
// panic; a sealed envelope opens to what was sealed, and any change to
// its bytes is refused.
func FuzzEnvelope(f *testing.F) {
	const kid = "k1"
	h := Header{Cluster: "c", Job: 1, Task: 2, Epoch: 3, Seq: 4, Kind: "checkpoint", Program: "p"}
	sealed, err := Seal(kid, []byte("key"), h, []byte("payload"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("key"), sealed, []byte("payload"), 5)
	f.Add([]byte(""), []byte(envelopeMagic+"\xff\xff\xff\xff"), []byte{}, 0)
	f.Fuzz(func(t *testing.T, key, data, payload []byte, flip int) {
		keys := KeySet{kid: key, LegacyKeyID: key}
		OpenEnvelope(keys, data)
		if len(key) == 0 {
			return // nothing seals without a key
		}
		env, err := Seal(kid, key, h, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, body, err := OpenEnvelope(keys, env)
		want := h
		want.Alg, want.Kid = envelopeAlg, kid
		if err != nil || got != want || !bytes.Equal(body, payload) {
			t.Fatalf("a sealed envelope opens as %+v %q: %v", got, body, err)
		}
		if flip < 0 {
			flip = -flip
		}
		env[flip%len(env)] ^= 1
		if _, _, err := OpenEnvelope(keys, env); err == nil {
			t.Fatalf("a bit flipped at %d was accepted", flip%len(env))
		}
	})
}
