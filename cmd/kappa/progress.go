package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// progressView shows a job's live progress on stderr: one redrawn line on a
// terminal, or a line per change (at most one a second) otherwise, with the
// program's own output and log lines printed above it.
type progressView struct {
	mu      sync.Mutex
	out     io.Writer
	tty     bool
	start   time.Time
	line    string
	printed time.Time
	// lastPrinted is the last status line printed (not on a terminal).
	lastPrinted string
}

func newProgressView(f *os.File) *progressView {
	info, err := f.Stat()
	tty := err == nil && info.Mode()&os.ModeCharDevice != 0
	return &progressView{out: f, tty: tty, start: time.Now()}
}

func (v *progressView) update(st *wire.JobStatus) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.line = formatProgress(st, time.Since(v.start))
	if v.tty {
		fmt.Fprintf(v.out, "\r\033[K%s", v.line)
		return
	}
	if time.Since(v.printed) >= time.Second {
		fmt.Fprintln(v.out, v.line)
		v.printed, v.lastPrinted = time.Now(), v.line
	}
}

// done prints the final status line for good.
func (v *progressView) done(st *wire.JobStatus) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if st != nil {
		v.line = formatProgress(st, time.Since(v.start))
	}
	if v.tty {
		fmt.Fprintf(v.out, "\r\033[K%s\n", v.line)
	} else if v.line != "" && v.line != v.lastPrinted {
		fmt.Fprintln(v.out, v.line)
	}
	v.line = ""
}

// programLine prints a line the program wrote, above the status line.
func (v *progressView) programLine(line []byte) {
	v.above("| " + strings.TrimRight(string(line), "\n") + "\n")
}

// Write lets log output go above the status line too.
func (v *progressView) Write(p []byte) (int, error) {
	v.above(string(p))
	return len(p), nil
}

func (v *progressView) above(text string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.line != "" {
		fmt.Fprintf(v.out, "\r\033[K%s%s", text, v.line)
		return
	}
	fmt.Fprint(v.out, text)
}

func formatProgress(st *wire.JobStatus, elapsed time.Duration) string {
	state := map[wire.JobState]string{
		wire.JobState_JOB_RUNNING: "running", wire.JobState_JOB_SUCCEEDED: "succeeded", wire.JobState_JOB_FAILED: "failed",
	}[st.GetState()]
	return fmt.Sprintf("kappa: j%d %s | tasks %d: %d running, %d waiting, %d done, %d failed | launches %d, epoch ≤%d | checkpoints %d (%s) | %.1fs",
		st.GetJobId(), state, st.GetTasksTotal(),
		st.GetTasksRunning()+st.GetTasksRunnable(), st.GetTasksBlocked()+st.GetTasksPending(), st.GetTasksDone(), st.GetTasksFailed(),
		st.GetLaunches(), st.GetMaxEpoch(), st.GetCheckpoints(), humanBytes(st.GetCheckpointBytes()), elapsed.Seconds())
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
