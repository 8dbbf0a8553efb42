package main

import (
	"context"
	"fmt"
	"github.com/kappa-serverless/kappa/node/ui"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// A job's history on the command line: `kappa jobs events`, `jobs retry`,
// the task table of `jobs show`, and what `kappa run` says about the
// failovers and relaunches its job lived through.

func newJobsEventsCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	var follow bool
	cmd := &cobra.Command{
		Use:   "events JOB [--follow]",
		Short: "Show a job's history: launches and why, checkpoints, leader changes, failures, retries",
		Long: `Shows a job's history. -o json prints the history as one JobEventsResponse
(events, dropped, partial); with --follow, one JobEvent object a line as
each event is committed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return err
			}
			if follow && o.format == "yaml" {
				return usageError("--follow prints one event a line: use -o json or the table, not -o yaml")
			}
			run := func(ctx context.Context, c *kappaclient.Client) error {
				st, err := c.Job(ctx, id, true)
				if err != nil {
					return err
				}
				submitted := st.GetSubmittedUnixMs()
				all := &wire.JobEventsResponse{}
				err = c.Events(ctx, id, 0, follow, func(r *wire.JobEventsResponse) {
					switch {
					case o.format == "table":
						printEvents(r, submitted)
					case follow:
						for _, e := range r.GetEvents() {
							fmt.Printf("%s\n", protoJSON(e))
						}
					default:
						all.Events = append(all.Events, r.GetEvents()...)
						all.Dropped, all.Partial = r.GetDropped(), r.GetPartial()
					}
				})
				if err != nil || o.format == "table" || follow {
					return err
				}
				return o.print(protoJSON(all), nil)
			}
			if follow {
				return f.doFollowing(run)
			}
			return f.do(run)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events until the job finishes")
	f.register(cmd)
	o.register(cmd)
	return cmd
}

// doFollowing runs a command that follows a job to its end: no time limit
// (it resumes on another node when one fails); Ctrl-C ends it.
func (f *clusterFlags) doFollowing(cmd func(ctx context.Context, c *kappaclient.Client) error) error {
	c, err := f.client()
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, c); err != nil {
		return interrupted(ctx, err)
	}
	return nil
}

// printEvents prints one batch of a job's history, one event a line:
// seq, committed time, time since the job was submitted, what happened.
func printEvents(r *wire.JobEventsResponse, submitted int64) {
	events := r.GetEvents()
	if len(events) > 0 && events[0].GetSeq() > 1 && events[0].GetSeq() == r.GetDropped()+1 {
		fmt.Printf("… %d older events dropped (each job keeps the newest; kappa server --job-history)\n", r.GetDropped())
	}
	if len(events) > 0 && events[0].GetSeq() == 1 && r.GetPartial() {
		fmt.Println("… recorded from when the cluster was upgraded to keep histories; earlier events are unknown")
	}
	for _, e := range events {
		at := time.UnixMilli(e.GetAtUnixMs())
		fmt.Printf("#%-5d %s %9s  %s\n", e.GetSeq(), at.Format("2006-01-02 15:04:05.000"), sinceSubmit(e.GetAtUnixMs(), submitted), ui.DescribeEvent(e))
	}
}

func sinceSubmit(at, submitted int64) string {
	if submitted == 0 {
		return ""
	}
	return fmt.Sprintf("+%.1fs", float64(at-submitted)/1000)
}

// runNotes is what `kappa run` says about its job's history: the leader
// changes it lived through and its tasks' relaunches after a lost
// invocation, one line each.
func runNotes(job uint64, r *wire.JobEventsResponse, submitted *int64) []string {
	var lines []string
	for _, e := range r.GetEvents() {
		if *submitted == 0 {
			*submitted = e.GetAtUnixMs() // the first event seen: the submit, unless the history is partial
		}
		at := float64(e.GetAtUnixMs()-*submitted) / 1000
		switch {
		case e.GetKind() == "leader_changed":
			lines = append(lines, fmt.Sprintf("kappa: j%d survived a leader change (%s) at %.1fs", job, e.GetDetail(), at))
		case e.GetKind() == "new_timeline":
			lines = append(lines, fmt.Sprintf("kappa: j%d lives on in a new timeline (%s) at %.1fs", job, e.GetDetail(), at))
		case e.GetKind() == "launched" && e.GetReason() != "" && e.GetReason() != "first" && e.GetReason() != "yield" &&
			e.GetReason() != "unblocked" && e.GetReason() != "retry":
			lines = append(lines, fmt.Sprintf("kappa: j%d/t%d relaunched %s (epoch %d, at %.1fs)", job, e.GetTaskId(), ui.LaunchReasons[e.GetReason()], e.GetEpoch(), at))
		}
	}
	return lines
}

func newJobsRetryCmd() *cobra.Command {
	return jobActionCmd("retry", "Resume a failed or cancelled job: every task that did not succeed runs again from its last checkpoint",
		"why (shown in the job's history)",
		func(ctx context.Context, c *kappaclient.Client, id uint64, reason string) error {
			ids, err := c.Retry(ctx, id, reason)
			if err != nil {
				return err
			}
			names := make([]string, len(ids))
			for i, t := range ids {
				names[i] = fmt.Sprintf("t%d", t)
			}
			fmt.Printf("job j%d retried: %s run again from their last checkpoints (follow it with `kappa jobs events j%d --follow`)\n",
				id, strings.Join(names, ", "), id)
			return nil
		})
}

// printTaskTable prints a job's tasks: one row each with its state, epoch,
// launches, checkpoints, last checkpoint and how long it has run.
func printTaskTable(j *wire.JobStatus) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tPARENT\tNAME\tSTATE\tEPOCH\tLAUNCHES\tCHECKPOINTS\tLAST CHECKPOINT\tRUNTIME\tERROR")
	for _, t := range j.GetTasks() {
		parent := "-"
		if t.GetParentId() != 0 {
			parent = fmt.Sprintf("t%d", t.GetParentId())
		}
		last := "-"
		if t.GetLastCheckpointUnixMs() != 0 {
			last = time.UnixMilli(t.GetLastCheckpointUnixMs()).Format("15:04:05.000")
		}
		fmt.Fprintf(w, "t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", t.GetTaskId(), parent, t.GetName(), t.GetState(), t.GetEpoch(),
			t.GetLaunches(), t.GetCheckpoints(), last, taskRuntime(j, t), t.GetError())
	}
	return w.Flush()
}

// taskRuntime is how long a task has run: from its first launch to its
// end (or the job's, or now).
func taskRuntime(j *wire.JobStatus, t *wire.TaskStatus) string {
	if t.GetFirstLaunchUnixMs() == 0 {
		return "-"
	}
	end := t.GetFinishedUnixMs()
	if end == 0 {
		end = j.GetFinishedUnixMs()
	}
	if end == 0 {
		end = time.Now().UnixMilli()
	}
	return formatMs(end - t.GetFirstLaunchUnixMs())
}

func formatMs(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

// printTimings prints when a job was submitted, started and finished.
func printTimings(w *tabwriter.Writer, j *wire.JobStatus) {
	stamp := func(ms int64) string { return time.UnixMilli(ms).Format("2006-01-02 15:04:05.000") }
	fmt.Fprintf(w, "submitted\t%s\n", stamp(j.GetSubmittedUnixMs()))
	if s := j.GetStartedUnixMs(); s != 0 {
		fmt.Fprintf(w, "started\t%s (%s after the submit)\n", stamp(s), formatMs(s-j.GetSubmittedUnixMs()))
	}
	if f := j.GetFinishedUnixMs(); f != 0 {
		fmt.Fprintf(w, "finished\t%s (%s after the submit)\n", stamp(f), formatMs(f-j.GetSubmittedUnixMs()))
	}
	if r := j.GetRetries(); r > 0 {
		fmt.Fprintf(w, "retries\t%d\n", r)
	}
	if j.GetArchived() {
		fmt.Fprintf(w, "archived\tyes: the cluster forgot the job after its retention; this is its record in the checkpoint store\n")
	}
}
