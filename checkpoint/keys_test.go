package checkpoint

import (
	"encoding/json"
	"os"
	"testing"
)

// keyVectors is testdata/key_vectors.json, which the Python store's tests
// read too, so both sides build and parse the same layout.
type keyVectors struct {
	Valid []struct {
		Key, Kind, Program, Value string
		Job, Task, Epoch, Seq     uint64
		Index                     uint64
	}
	Invalid []struct{ Key, Why string }
}

func TestKeyVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/key_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v keyVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) == 0 || len(v.Invalid) == 0 {
		t.Fatal("no vectors read")
	}
	for _, want := range v.Valid {
		k, err := ParseKey(want.Key)
		if err != nil {
			t.Errorf("%s: %v", want.Key, err)
			continue
		}
		if k.Kind.String() != want.Kind || k.Program != want.Program || k.Job != want.Job || k.Task != want.Task ||
			k.Epoch != want.Epoch || k.Seq != want.Seq || k.Value != want.Value || k.Index != want.Index {
			t.Errorf("%s parses to %+v, want %+v", want.Key, k, want)
		}
		if k.String() != want.Key {
			t.Errorf("%+v builds %q, want %q", k, k.String(), want.Key)
		}
		if err := ValidKey(want.Key); err != nil {
			t.Errorf("%s: the stores would refuse it: %v", want.Key, err)
		}
	}
	for _, bad := range v.Invalid {
		if k, err := ParseKey(bad.Key); err == nil {
			t.Errorf("%q (%s) parsed to %+v", bad.Key, bad.Why, k)
		}
	}
}

// The builders the Go side uses write keys that parse back to their
// arguments.
func TestBuildersParseBack(t *testing.T) {
	for _, key := range []string{CheckpointKey(5, 6, 7, 8), ValueKey(5, 6, 7, 8, "start", 2), ProgramKey(BundleHash([]byte("x")))} {
		k, err := ParseKey(key)
		if err != nil || k.String() != key {
			t.Errorf("%s: %+v %v", key, k, err)
		}
	}
	if k, _ := ParseKey(ValueKey(5, 6, 7, 8, "start", 2)); k.Kind != KindValue || k.Task != 6 || k.Seq != 8 || k.Value != "start" || k.Index != 2 {
		t.Errorf("value key fields: %+v", k)
	}
}
