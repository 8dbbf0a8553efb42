package bench

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// RestartOptions configure the planned-restart benchmark.
type RestartOptions struct {
	Binary       string        // the kappa binary the servers run
	Trials       int           // leader SIGTERMs
	Tasks        int           // running simulated tasks
	CallInterval time.Duration // how often each task commits a call
	// ShutdownTimeout is the servers' --shutdown-timeout (0: a stopping
	// leader hands nothing over, as before planned stops existed).
	ShutdownTimeout time.Duration
	Out             io.Writer // one line per trial, then the summary table
	// After, when set, runs once the trials are done, with the cluster still
	// up: the job's id and, per task, the committed calls acknowledged to it.
	After func(c *proccluster.Cluster, job uint64, acked map[uint64]int) error
}

// RestartTrial is one SIGTERM of the leader.
type RestartTrial struct {
	Stopped  string        // the node that was leader
	HandedTo string        // whom its log says it handed leadership to ("": it did not)
	Leader   string        // the leader right after it exited
	Exit     time.Duration // SIGTERM → the process exited
	Gap      time.Duration // longest time without a committed call around the stop
	ExitErr  error         // how the process ended (nil: status 0)
}

// handedOver is the stopping leader's log line naming its successor.
var handedOver = regexp.MustCompile(`handed leadership over before stopping.* to=(\S+)`)

// Restart SIGTERMs the leader of a three-node cluster again and again while
// simulated tasks commit calls, and measures how long the cluster went
// without committing one: a planned stop hands leadership over before the
// process exits, so the gap is about one transfer, not an election timeout.
func Restart(o RestartOptions) ([]RestartTrial, error) {
	f := newFailoverTasks(o.CallInterval)
	var sim *simLambdas
	c, s, _, stop, err := startCluster(o.Binary, benchCluster{nodes: 3, extra: []string{"--shutdown-timeout", o.ShutdownTimeout.String(), "--log-level", "info"}},
		func(spec node.InvocationSpec) { f.simulate(sim, spec, o.Tasks) })
	if err != nil {
		return nil, err
	}
	defer stop()
	sim = s
	job, err := submitSim(c.Client(), "{}")
	if err != nil {
		return nil, err
	}
	if err := f.waitRunning(o.Tasks); err != nil {
		return nil, err
	}
	var trials []RestartTrial
	for i := 1; i <= o.Trials; i++ {
		time.Sleep(time.Second)
		tr, err := restartLeader(c, f)
		if err != nil {
			return trials, fmt.Errorf("trial %d: %w", i, err)
		}
		trials = append(trials, tr)
		fmt.Fprintf(o.Out, "trial %2d: SIGTERM %s; exited after %s (status: %s), handed leadership to %q, leader now %s; longest gap between committed calls %s\n",
			i, tr.Stopped, tr.Exit.Round(time.Millisecond), exitStatus(tr.ExitErr), tr.HandedTo, tr.Leader, tr.Gap.Round(time.Millisecond))
	}
	if o.After != nil {
		f.mu.Lock()
		acked := map[uint64]int{}
		for task, n := range f.acked {
			acked[task] = n
		}
		f.mu.Unlock()
		if err := o.After(c, job, acked); err != nil {
			return trials, err
		}
	}
	close(f.stop)
	var gaps, exits []time.Duration
	for _, tr := range trials {
		gaps, exits = append(gaps, tr.Gap), append(exits, tr.Exit)
	}
	fmt.Fprintf(o.Out, "\n| measure (%d trials, %d tasks committing every %s, --shutdown-timeout %s) | p50 | max |\n| --- | ---: | ---: |\n",
		len(trials), o.Tasks, o.CallInterval, o.ShutdownTimeout)
	fmt.Fprintf(o.Out, "| longest time without a committed call | %s | %s |\n", pctOf(gaps, 0.5), pctOf(gaps, 1))
	fmt.Fprintf(o.Out, "| leader SIGTERM → process exit | %s | %s |\n", pctOf(exits, 0.5), pctOf(exits, 1))
	return trials, nil
}

// restartLeader SIGTERMs the leader, measures, and starts it again once
// the cluster commits without it.
func restartLeader(c *proccluster.Cluster, f *failoverTasks) (RestartTrial, error) {
	leader := c.Leader()
	if leader == nil {
		return RestartTrial{}, fmt.Errorf("no leader")
	}
	logBefore := len(c.Log(leader))
	t0 := time.Now()
	exitErr := c.Terminate(leader, time.Minute)
	exited := time.Now()
	if exitErr != nil && leader.Running() {
		return RestartTrial{}, exitErr
	}
	tr := RestartTrial{Stopped: leader.ID, Exit: exited.Sub(t0), ExitErr: exitErr}
	if m := handedOver.FindStringSubmatch(c.Log(leader)[logBefore:]); m != nil {
		tr.HandedTo = strings.Trim(m[1], `"`)
	}
	if l, err := c.WaitLeader(30 * time.Second); err == nil {
		tr.Leader = l.ID
	}
	// Steady state again: calls commit for a while after the first one
	// that committed after the exit.
	deadline := time.Now().Add(30 * time.Second)
	var settled time.Time
	for {
		if first := f.firstCallAfter(exited); !first.IsZero() {
			if settled.IsZero() {
				settled = first.Add(500 * time.Millisecond)
			}
			if f.committedAfter(settled) {
				break
			}
		}
		if time.Now().After(deadline) {
			return tr, fmt.Errorf("the cluster did not commit steadily within 30s of %s's exit", leader.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tr.Gap = f.longestGap(t0.Add(-500*time.Millisecond), settled)
	if err := c.Restart(leader); err != nil {
		return tr, err
	}
	return tr, c.WaitCaughtUp(leader, 30*time.Second)
}

// committedAfter says whether some call committed after t.
func (f *failoverTasks) committedAfter(t time.Time) bool {
	return !f.firstCallAfter(t).IsZero()
}

// firstCallAfter is when the first call after t committed (zero: none yet).
func (f *failoverTasks) firstCallAfter(t time.Time) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.After(t) {
			return c
		}
	}
	return time.Time{}
}

// longestGap is the longest time between consecutive committed calls
// (of any task) between from and to.
func (f *failoverTasks) longestGap(from, to time.Time) time.Duration {
	f.mu.Lock()
	var in []time.Time
	for _, c := range f.calls {
		if !c.Before(from) && !c.After(to) {
			in = append(in, c)
		}
	}
	f.mu.Unlock()
	sort.Slice(in, func(i, j int) bool { return in[i].Before(in[j]) })
	var gap time.Duration
	for i := 1; i < len(in); i++ {
		gap = max(gap, in[i].Sub(in[i-1]))
	}
	return gap
}

func exitStatus(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}
