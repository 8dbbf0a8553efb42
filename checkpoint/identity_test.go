package checkpoint

import "testing"

func TestIdentityNamesTheStoreWithoutSecrets(t *testing.T) {
	same := map[string][]string{
		"redis://cache.example:6379/0": {"redis://:s3cret@cache.example:6379/0", "rediss://user:pw@Cache.Example/0?wait=1&wait_timeout_ms=500", "redis://cache.example"},
		"redis://cache.example:6380/2": {"redis://cache.example:6380/2"},
		"file:///shared/kappa":         {"file:///shared//kappa/", "/shared/kappa", "file:///shared/x/../kappa"},
	}
	for want, urls := range same {
		for _, raw := range urls {
			got, err := Identity(raw)
			if err != nil || got != want {
				t.Errorf("Identity(%q) = %q, %v; want %q", raw, got, err, want)
			}
		}
	}
	if a, _ := Identity("redis://h:6379/0"); a == mustIdentity(t, "redis://h:6379/1") {
		t.Error("two Redis databases got one identity")
	}
	if _, err := Identity("s3://bucket"); err == nil {
		t.Error("an unsupported scheme was accepted")
	}
}

func mustIdentity(t *testing.T, raw string) string {
	t.Helper()
	id, err := Identity(raw)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
