package checkpoint

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestEnvelopeBindsBytesToIdentityAndKey(t *testing.T) {
	keys := KeySet{"k1": DeriveJobKey([]byte("master-k1"), "c1", 1), "k2": DeriveJobKey([]byte("master-k2"), "c1", 1)}
	h := Header{Cluster: "c1", Job: 1, Task: 2, Epoch: 3, Seq: 4, Kind: "checkpoint", Program: "abc"}
	sealed, err := Seal("k2", keys["k2"], h, []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	got, payload, err := OpenEnvelope(keys, sealed)
	if err != nil || string(payload) != "payload" || got.Seq != 4 || got.Alg != "hmac-sha256" || got.Kid != "k2" {
		t.Fatalf("open: %+v %q %v", got, payload, err)
	}
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-33] ^= 1 // the payload's last byte
	if _, _, err := OpenEnvelope(keys, flipped); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), `key id "k2"`) {
		t.Fatalf("a flipped byte must be refused naming the key id, got %v", err)
	}
	// Another job's key (same key id) does not verify it.
	other := KeySet{"k2": DeriveJobKey([]byte("master-k2"), "c1", 2)}
	if _, _, err := OpenEnvelope(other, sealed); !errors.Is(err, ErrTampered) || errors.Is(err, ErrUnknownKey) {
		t.Fatalf("another job's key must be refused as a tag mismatch, got %v", err)
	}
	// A reader without the key id says which id is missing.
	_, _, err = OpenEnvelope(KeySet{"k1": keys["k1"]}, sealed)
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), `key id "k2"`) || !strings.Contains(err.Error(), "(k1)") {
		t.Fatalf("a missing key id: %v", err)
	}
	if _, _, err := OpenEnvelope(keys, []byte("short")); !errors.Is(err, ErrTampered) {
		t.Fatalf("garbage must be refused, got %v", err)
	}
	if _, err := Seal("k1", nil, h, nil); err == nil {
		t.Fatal("sealing without a key must fail")
	}
}

// An envelope claiming an algorithm other than the MAC is refused even
// when its tag is right (no downgrade to an unkeyed hash).
func TestEnvelopeRefusesAnotherAlgorithm(t *testing.T) {
	key := []byte("k")
	sealed, _ := Seal("k1", key, Header{Job: 1}, []byte("x"))
	forged := []byte(strings.Replace(string(sealed[:len(sealed)-32]), `"alg":"hmac-sha256"`, `"alg":"sha256xxxxx"`, 1))
	forged = append(forged, tag(key, forged)...)
	if _, _, err := OpenEnvelope(KeySet{"k1": key}, forged); err == nil || !strings.Contains(err.Error(), "sha256xxxxx") {
		t.Fatalf("alg downgrade: %v", err)
	}
}

// The vectors in testdata are checked by the Python runtime's tests too,
// so both sides keep writing the same format: the legacy one (no key id)
// and the one with a key id.
func TestEnvelopeVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/envelope_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Kid     string `json:"kid"`
		Key     string `json:"key_hex"`
		Header  Header `json:"header"`
		Payload string `json:"payload_hex"`
		Sealed  string `json:"sealed_hex"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 3 {
		t.Fatalf("%d vectors", len(vectors))
	}
	for i, v := range vectors {
		key, _ := hex.DecodeString(v.Key)
		payload, _ := hex.DecodeString(v.Payload)
		sealed, err := Seal(v.Kid, key, v.Header, payload)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(sealed) != v.Sealed {
			t.Errorf("vector %d: Seal output differs from the shared vector", i)
		}
		h, got, err := OpenEnvelope(KeySet{v.Kid: key}, sealed)
		if err != nil || string(got) != string(payload) || h.Job != v.Header.Job {
			t.Errorf("vector %d: open: %v", i, err)
		}
	}
}

func TestJobKeyVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/jobkey_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Master      string `json:"master_hex"`
			Cluster     string `json:"cluster"`
			Job         uint64 `json:"job"`
			JobKey      string `json:"job_key_hex"`
			Fingerprint string `json:"master_fingerprint"`
		}
	}
	if err := json.Unmarshal(raw, &f); err != nil || len(f.Vectors) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	seen := map[string]bool{}
	for _, v := range f.Vectors {
		master, _ := hex.DecodeString(v.Master)
		if got := hex.EncodeToString(DeriveJobKey(master, v.Cluster, v.Job)); got != v.JobKey {
			t.Errorf("job key of %s/j%d = %s, want %s", v.Cluster, v.Job, got, v.JobKey)
		}
		if Fingerprint(master) != v.Fingerprint {
			t.Errorf("fingerprint differs")
		}
		if seen[v.JobKey] {
			t.Errorf("two vectors derive the same key")
		}
		seen[v.JobKey] = true
	}
}
