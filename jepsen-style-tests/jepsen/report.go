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

	"github.com/kappa-serverless/kappa/jepsen-style-tests/checker"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// Report is what one run found.
type Report struct {
	Seed       int64          `json:"seed"`
	Nodes      int            `json:"nodes"`
	Network    string         `json:"network"` // "netns" or "proxy"
	Store      string         `json:"store"`   // where checkpoints went: "redis" or "directory"
	Unsafe     []string       `json:"unsafe,omitempty"`
	Schedule   []string       `json:"schedule"` // the fault kinds asked for
	Ordered    bool           `json:"ordered"`  // drawn in order (each must come up) rather than at random
	Ops        map[string]int `json:"ops"`      // "kind/outcome" → count
	Faults     map[string]int `json:"faults"`   // kind → faults that fired
	Lost       int            `json:"lost"`
	Duplicated int            `json:"duplicated"`
	Reordered  int            `json:"reordered"`
	// DeliveredTwice counts queue items a consumer got more than once
	// (part of Duplicated).
	DeliveredTwice int `json:"delivered_twice"`
	// MissingCheckpoints are checkpoint keys a task was launched from that
	// the store no longer held (KeyNotFoundError): live checkpoints lost.
	MissingCheckpoints []string `json:"missing_checkpoints,omitempty"`
	// ForgottenJobs are jobs whose acknowledged submit or cancel the
	// cluster later forgot: the job does not exist, its id names another
	// job, or it is not cancelled.
	ForgottenJobs []uint64 `json:"forgotten_jobs,omitempty"`
	Linearizable  bool     `json:"linearizable"`
	// NotLinearizable names the histories the checker proved not
	// linearizable (a timed-out search is not among them).
	NotLinearizable []string        `json:"not_linearizable,omitempty"`
	RecoveryP50     time.Duration   `json:"recovery_p50_ns"`
	RecoveryMax     time.Duration   `json:"recovery_max_ns"`
	Timeline        []nemesis.Event `json:"timeline"`
	StateHash       string          `json:"state_hash"`
	Problems        []string        `json:"problems,omitempty"`
	Notes           []string        `json:"notes,omitempty"`

	recoveries []time.Duration
}

func (r *Report) noteLinearizability(what string, res porcupine.CheckResult) {
	if res == porcupine.Unknown {
		r.Notes = append(r.Notes, what+": the linearizability search timed out (counted as not proven)")
	} else {
		r.Problems = append(r.Problems, what+": not linearizable")
		r.NotLinearizable = append(r.NotLinearizable, what)
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

// OK says whether every check passed and the run did the work that gives
// the checks meaning (see unproven).
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Linearizable && len(r.Problems) == 0 &&
		len(r.MissingCheckpoints) == 0 && len(r.ForgottenJobs) == 0 && len(r.unproven()) == 0
}

// provenWork is what every run must have done for a clean report to mean
// anything: per operation kind, the outcomes that show it was done.
var provenWork = []struct {
	kind     string
	outcomes []string
}{
	{"pipeline", []string{"succeeded"}},
	{"enqueue", []string{"ok"}},
	{"dequeue", []string{"ok"}},
	{checker.OpSubmit, []string{"ok"}},
	{checker.OpStatus, []string{"running", "succeeded", "failed", "cancelled"}},
	{checker.OpCancel, []string{"ok", "finished"}},
}

// failedSubmits are the op counts of submits the cluster did not
// acknowledge: whatever the faults, a client retrying for its whole
// timeout must get through.
var failedSubmits = []string{"pipeline/submit-failed", checker.OpSubmit + "/ambiguous"}

// unproven lists why a run proves less than it claims: a kind of work it
// never did, submits that failed, faults that hit nothing, no fault at all,
// or (in order) a kind of fault never drawn.
func (r *Report) unproven() []string {
	var p []string
	for _, w := range provenWork {
		n := 0
		for _, o := range w.outcomes {
			n += r.Ops[w.kind+"/"+o]
		}
		if n == 0 {
			p = append(p, fmt.Sprintf("no %s op with outcome %s, so the checks prove nothing about that work (%s ops: %s)",
				w.kind, strings.Join(w.outcomes, " or "), w.kind, r.opsOf(w.kind)))
		}
	}
	for _, k := range failedSubmits {
		if n := r.Ops[k]; n > 0 {
			p = append(p, fmt.Sprintf("%d submits failed (%s)", n, k))
		}
	}
	drawn, fired := map[string]bool{}, 0
	for _, e := range r.Timeline {
		drawn[e.Kind] = true
		if e.Missed != "" {
			p = append(p, fmt.Sprintf("%s at %s hit nothing: %s", e.Kind, e.At.Round(time.Second), e.Missed))
		}
		if e.Fired() {
			fired++
		}
	}
	if len(r.Schedule) > 0 && fired == 0 {
		p = append(p, fmt.Sprintf("no fault fired (of %s): the run shows nothing about faults", strings.Join(r.Schedule, ", ")))
	}
	if r.Ordered {
		for _, k := range r.Schedule {
			if !drawn[k] {
				p = append(p, fmt.Sprintf("%s was never drawn: the run ended first (make it longer)", k))
			}
		}
	}
	return p
}

// opsOf lists a kind's counts by outcome ("none" when there are none).
func (r *Report) opsOf(kind string) string {
	var parts []string
	for _, k := range sortedKeys(r.Ops) {
		if strings.HasPrefix(k, kind+"/") {
			parts = append(parts, fmt.Sprintf("%s %d", k, r.Ops[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
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
	return fmt.Sprintf("jepsen: ops=%d faults=%d lost=%d duplicated=%d reordered=%d linearizable=%t recovery_p50=%s recovery_max=%s problems=%d",
		r.totalOps(), r.totalFaults(), r.Lost, r.Duplicated, r.Reordered, r.Linearizable,
		r.RecoveryP50.Round(time.Millisecond), r.RecoveryMax.Round(time.Millisecond), len(r.Problems))
}

// Text is the readable summary, ending in SummaryLine.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (replay: KAPPA_JEPSEN_SEED=%d), %d nodes, faults through %s, checkpoints in %s", r.Seed, r.Seed, r.Nodes, r.Network, r.Store)
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
		if e.Missed != "" {
			fmt.Fprintf(&b, "  %8s %-18s HIT NOTHING: %s\n", "", "", e.Missed)
		}
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
