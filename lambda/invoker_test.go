package lambda

import "testing"

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{OK: "OK", FunctionError: "FunctionError", Timeout: "Timeout", Crash: "Crash", 9: "Outcome(9)"} {
		if got := o.String(); got != want {
			t.Errorf("%d: %q, want %q", int(o), got, want)
		}
	}
}
