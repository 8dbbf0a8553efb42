package jepsen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// Report is what one run found.
type Report struct {
	Seed         int64           `json:"seed"`
	Nodes        int             `json:"nodes"`
	Network      string          `json:"network"` // "netns" or "proxy"
	Unsafe       []string        `json:"unsafe,omitempty"`
	Ops          map[string]int  `json:"ops"`    // "kind/outcome" → count
	Faults       map[string]int  `json:"faults"` // kind → count
	Lost         int             `json:"lost"`
	Duplicated   int             `json:"duplicated"`
	Reordered    int             `json:"reordered"`
	Linearizable bool            `json:"linearizable"`
	RecoveryP50  time.Duration   `json:"recovery_p50_ns"`
	RecoveryMax  time.Duration   `json:"recovery_max_ns"`
	Timeline     []nemesis.Event `json:"timeline"`
	StateHash    string          `json:"state_hash"`
	Problems     []string        `json:"problems,omitempty"`
	Notes        []string        `json:"notes,omitempty"`

	recoveries []time.Duration
}

func (r *Report) noteLinearizability(what string, res porcupine.CheckResult) {
	if res == porcupine.Unknown {
		r.Notes = append(r.Notes, what+": the linearizability search timed out (counted as not proven)")
	} else {
		r.Problems = append(r.Problems, what+": not linearizable")
	}
	r.Linearizable = false
}

func (r *Report) finish() {
	sort.Slice(r.recoveries, func(i, j int) bool { return r.recoveries[i] < r.recoveries[j] })
	if n := len(r.recoveries); n > 0 {
		r.RecoveryP50 = r.recoveries[n/2]
		r.RecoveryMax = r.recoveries[n-1]
	}
}

// OK says whether every check passed.
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Linearizable && len(r.Problems) == 0
}

func (r *Report) totalOps() int {
	n := 0
	for _, v := range r.Ops {
		n += v
	}
	return n
}

func (r *Report) totalFaults() int {
	n := 0
	for _, v := range r.Faults {
		n += v
	}
	return n
}

// SummaryLine is the report's last line.
func (r *Report) SummaryLine() string {
	return fmt.Sprintf("jepsen: ops=%d faults=%d lost=%d duplicated=%d reordered=%d linearizable=%t recovery_p50=%s recovery_max=%s",
		r.totalOps(), r.totalFaults(), r.Lost, r.Duplicated, r.Reordered, r.Linearizable,
		r.RecoveryP50.Round(time.Millisecond), r.RecoveryMax.Round(time.Millisecond))
}

// Text is the readable summary, ending in SummaryLine.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (replay: KAPPA_JEPSEN_SEED=%d), %d nodes, faults through %s", r.Seed, r.Seed, r.Nodes, r.Network)
	if len(r.Unsafe) > 0 {
		fmt.Fprintf(&b, ", UNSAFE %s", strings.Join(r.Unsafe, ","))
	}
	b.WriteString("\noperations by kind and outcome:\n")
	for _, k := range sortedKeys(r.Ops) {
		fmt.Fprintf(&b, "  %-22s %d\n", k, r.Ops[k])
	}
	b.WriteString("faults by kind:\n")
	for _, k := range sortedKeys(r.Faults) {
		fmt.Fprintf(&b, "  %-22s %d\n", k, r.Faults[k])
	}
	b.WriteString("timeline:\n")
	for _, e := range r.Timeline {
		if e.Skipped != "" {
			fmt.Fprintf(&b, "  %8s %-18s skipped: %s\n", e.At.Round(time.Second), e.Kind, e.Skipped)
			continue
		}
		fmt.Fprintf(&b, "  %8s %-18s %s; held %s, serving again %s after the fault\n", e.At.Round(time.Second), e.Kind, e.Detail,
			e.Held.Round(100*time.Millisecond), e.Recovery.Round(time.Millisecond))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for i, p := range r.Problems {
		if i == 30 {
			fmt.Fprintf(&b, "… %d more problems (see the JSON report)\n", len(r.Problems)-30)
			break
		}
		fmt.Fprintf(&b, "PROBLEM: %s\n", p)
	}
	b.WriteString(r.SummaryLine())
	b.WriteString("\n")
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Write stores report.json and summary.txt in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(r.Text()), 0o644)
}
