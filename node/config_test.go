package node

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node/nodetest"
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

// Settings Start cannot work with are refused before anything starts,
// naming the flag.
func TestBadSettingsAreRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"unknown log format", func(c *Config) { c.RaftLogFormat = "lsm" }, "--raft-log-format takes bolt or wal"},
		{"lease above heartbeat", func(c *Config) { c.Raft.LeaderLeaseTimeout = time.Second },
			"--leader-lease-timeout (1s) cannot be above --heartbeat-timeout (250ms)"},
	} {
		dir := t.TempDir()
		store, err := checkpoint.OpenDir(filepath.Join(dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{NodeID: "n1", DataDir: filepath.Join(dir, "node"), Bootstrap: true, Invoker: &scriptedInvoker{t: t},
			Store: store, Keys: nodetest.KeyFile(t, filepath.Join(dir, "cluster.keys"))}
		c.set(&cfg)
		if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Start: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
