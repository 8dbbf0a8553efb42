package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

func newJobsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "List, show, follow, wait for, cancel and retry jobs on a cluster"}
	cmd.AddCommand(newJobsListCmd(), newJobsShowCmd(), newJobsCancelCmd(), newJobsEventsCmd(), newJobsRetryCmd(), newJobsWaitCmd())
	return cmd
}

func parseJobID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(s, "j"), 10, 64)
	if err != nil || id == 0 {
		return 0, usageError("%q is not a job id (e.g. j12 or 12)", s)
	}
	return id, nil
}

func jobState(st *wire.JobStatus) string {
	return strings.ToLower(strings.TrimPrefix(st.GetState().String(), "JOB_"))
}

func newJobsListCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	var stale, archived bool
	cmd := &cobra.Command{
		Use:   "list [--archived]",
		Short: "List the cluster's jobs, or the archive's",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.check(); err != nil {
				return err
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				list := func() ([]*wire.JobStatus, error) { return c.Jobs(ctx, stale) }
				if archived {
					list = func() ([]*wire.JobStatus, error) { return c.ArchivedJobs(ctx) }
				}
				jobs, err := list()
				if err != nil {
					return err
				}
				return o.print(protoList(jobs), func() error {
					return tabular(func(w io.Writer) {
						fmt.Fprintln(w, "JOB\tSTATE\tNAME\tTASKS\tDONE\tLAUNCHES\tSUBMITTED")
						for _, j := range jobs {
							fmt.Fprintf(w, "j%d\t%s\t%s\t%d\t%d\t%d\t%s\n", j.GetJobId(), jobState(j), j.GetName(), j.GetTasksTotal(), j.GetTasksDone(),
								j.GetLaunches(), time.UnixMilli(j.GetSubmittedUnixMs()).Format(time.RFC3339))
						}
					})
				})
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "answer from the contacted node's replica (cheap, may lag)")
	cmd.Flags().BoolVar(&archived, "archived", false, "list the jobs forgotten after their retention, from the archive in the checkpoint store")
	f.register(cmd)
	o.register(cmd)
	return cmd
}

func newJobsShowCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	var stale bool
	cmd := &cobra.Command{
		Use:   "show JOB",
		Short: "Show a job's state, timings, counters, result or error, and its tasks",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return err
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				j, err := c.JobDetail(ctx, id, stale)
				if err != nil {
					return err
				}
				if j.GetState() == wire.JobState_JOB_SUCCEEDED && j.GetResultStored() && !j.GetArchived() {
					// Too large for the job's record: fetched from the store.
					result, err := c.Result(ctx, j)
					if err != nil {
						return err
					}
					j.ResultJson = string(result)
				}
				return o.print(protoJSON(j), func() error { return printJob(j) })
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "answer from the contacted node's replica (cheap, may lag)")
	f.register(cmd)
	o.register(cmd)
	return cmd
}

// printJob is `jobs show`'s table: the job's fields, then its tasks.
func printJob(j *wire.JobStatus) error {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "job\tj%d (%s)\n", j.GetJobId(), j.GetName())
	fmt.Fprintf(w, "state\t%s\n", jobState(j))
	if j.GetOwner() != "" {
		fmt.Fprintf(w, "owner\t%s\n", j.GetOwner())
	}
	fmt.Fprintf(w, "program\t%s\n", j.GetProgramHash())
	if p := j.GetPriority(); p > 1 {
		fmt.Fprintf(w, "priority\t%d\n", p)
	}
	printTimings(w, j)
	fmt.Fprintf(w, "tasks\t%d total: %d pending, %d runnable, %d running, %d waiting, %d done, %d failed\n", j.GetTasksTotal(),
		j.GetTasksPending(), j.GetTasksRunnable(), j.GetTasksRunning(), j.GetTasksBlocked(), j.GetTasksDone(), j.GetTasksFailed())
	fmt.Fprintf(w, "launches\t%d (%d relaunches, %d yields, epoch ≤%d)\n", j.GetLaunches(), j.GetRelaunches(), j.GetYields(), j.GetMaxEpoch())
	fmt.Fprintf(w, "calls\t%d; checkpoints %d (%s)\n", j.GetRpcs(), j.GetCheckpoints(), humanBytes(j.GetCheckpointBytes()))
	switch {
	case j.GetResultJson() != "":
		fmt.Fprintf(w, "result\t%s\n", j.GetResultJson())
	case j.GetArchived() && j.GetResultStored():
		// A stored result is deleted with the job's checkpoints when its
		// retention ends; the archive keeps its size.
		fmt.Fprintf(w, "result\t(%s of JSON, deleted at the end of the job's retention)\n", humanBytes(j.GetResultBytes()))
	}
	if j.GetError() != "" {
		fmt.Fprintf(w, "error\t%s\n", strings.ReplaceAll(j.GetError(), "\n", "\n\t"))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println()
	return printTaskTable(j)
}

func newJobsCancelCmd() *cobra.Command {
	return jobActionCmd("cancel", "Stop every task of a running job; its waiters fail with the reason",
		"why (shown to the job's waiters and in its error)",
		func(ctx context.Context, c *kappaclient.Client, id uint64, reason string) error {
			if err := c.Cancel(ctx, id, reason); err != nil {
				return err
			}
			fmt.Printf("job j%d cancelled\n", id)
			return nil
		})
}

// jobActionCmd is a command that changes one job, with a --reason
// (default: by the user running it).
func jobActionCmd(name, short, reasonHelp string, act func(ctx context.Context, c *kappaclient.Client, id uint64, reason string) error) *cobra.Command {
	var f clusterFlags
	var reason string
	cmd := &cobra.Command{
		Use:   name + " JOB [--reason TEXT]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if reason == "" {
				reason = "by " + userName()
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error { return act(ctx, c, id, reason) })
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", reasonHelp)
	f.register(cmd)
	return cmd
}

func userName() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "an operator"
}

func newJobsWaitCmd() *cobra.Command {
	var f clusterFlags
	cmd := &cobra.Command{
		Use:   "wait JOB",
		Short: "Wait for a job to finish, then print its result as kappa run does",
		Long: `Follows a job (for instance one submitted with kappa run --detach) to its
end, across leader changes, with its progress on stderr. Then, as kappa run:
a succeeded job's result as JSON on stdout and exit 0; a failed or cancelled
job's error and exit 1. An unknown job exits 6. No time limit: Ctrl-C stops
waiting (exit 130), not the job.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			return f.doFollowing(func(ctx context.Context, c *kappaclient.Client) error {
				// Watch waits for a job it cannot see yet (a lagging
				// node); a linearizable read first tells an unknown job.
				cctx, cancel := context.WithTimeout(ctx, f.timeout)
				_, err := c.Job(cctx, id, false)
				cancel()
				if err != nil {
					return err
				}
				view := newProgressView(os.Stderr)
				last, err := c.Watch(ctx, id, view.update)
				view.done(last)
				if err != nil {
					return err
				}
				return jobOutcome(ctx, c, last)
			})
		},
	}
	f.register(cmd)
	return cmd
}
