package node

import (
	"reflect"
	"testing"
)

// A zero Config ends up with every default of DefaultConfig, except the three
// fields whose zero means something: a default added to DefaultConfig but
// not applied by Start shows here.
func TestZeroConfigTakesEveryDefault(t *testing.T) {
	var got Config
	got.setDefaults()
	got.Logger = nil
	want := DefaultConfig()
	want.MaxInvocations, want.LambdaUnreachableStepDown, want.ShutdownTimeout = 0, 0, 0 // no bound, never, at once
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("a zero Config became\n%+v\nwant DefaultConfig's\n%+v", got, want)
	}
	set := Config{NodeID: "n7", Retention: 1}
	set.setDefaults()
	if set.NodeID != "n7" || set.Retention != 1 {
		t.Fatalf("a set field was overwritten: %+v", set)
	}
}
