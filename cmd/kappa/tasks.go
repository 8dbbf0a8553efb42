package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

func newTasksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tasks", Short: "Look at the tasks of a job"}
	cmd.AddCommand(newTasksLogsCmd())
	return cmd
}

func newTasksLogsCmd() *cobra.Command {
	var f clusterFlags
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "logs JOB [TASK]",
		Short: "Print each invocation of a job's tasks: request id, epoch, outcome and its output",
		Long: `Prints, for every invocation of the job's tasks (or of one task), the
platform's request id, the task's epoch, how the invocation ended and what
the lambda printed (the last 4 KB of its log, as Lambda's LogType=Tail
returns it).

Each node keeps the last 4096 invocations it launched as leader, in memory:
the logs of a node that stopped are gone, and launches of an earlier leader
are found by asking every member (this command does). On AWS Lambda the
complete logs are in CloudWatch Logs, log group /aws/lambda/FUNCTION, under
the request id printed here.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			job, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			var task uint64
			if len(args) == 2 {
				if task, err = strconv.ParseUint(strings.TrimPrefix(args[1], "t"), 10, 64); err != nil || task == 0 {
					return usageError("%q is not a task id (e.g. t3 or 3)", args[1])
				}
			}
			if err := o.check(); err != nil {
				return err
			}
			return f.do(func(ctx context.Context, c *kappaclient.Client) error {
				if _, err := c.Job(ctx, job, true); err != nil {
					return err
				}
				logs, asked := gatherInvocationLogs(ctx, c, job, task)
				if len(logs) == 0 {
					return &exitError{code: exitNotFound, msg: fmt.Sprintf("no invocation logs for j%d%s on %s (nodes keep only the invocations they launched, in memory; on AWS see CloudWatch)",
						job, taskSuffix(task), strings.Join(asked, ", "))}
				}
				return o.print(protoList(logs), func() error { printInvocationLogs(os.Stdout, logs); return nil })
			})
		},
	}
	f.register(cmd)
	o.register(cmd)
	return cmd
}

func taskSuffix(task uint64) string {
	if task == 0 {
		return ""
	}
	return fmt.Sprintf("/t%d", task)
}

// gatherInvocationLogs asks every node it can name (the given addresses
// and the members the leader lists) and merges their rings; a node that
// does not answer is skipped, since logs are best effort.
func gatherInvocationLogs(ctx context.Context, c *kappaclient.Client, job, task uint64) ([]*wire.InvocationLog, []string) {
	addrs := c.Addrs()
	if m, err := c.Members(ctx); err == nil {
		for _, mem := range m.GetMembers() {
			addrs = append(addrs, mem.GetApiAddr())
		}
	}
	seen := map[string]bool{}
	var asked []string
	var out []*wire.InvocationLog
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		asked = append(asked, a)
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		logs, err := c.InvocationLogs(actx, a, job, task)
		cancel()
		if err != nil {
			continue
		}
		out = append(out, logs...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.GetTaskId() != b.GetTaskId() {
			return a.GetTaskId() < b.GetTaskId()
		}
		if a.GetEpoch() != b.GetEpoch() {
			return a.GetEpoch() < b.GetEpoch()
		}
		return a.GetStartedUnixMs() < b.GetStartedUnixMs()
	})
	return out, asked
}

func printInvocationLogs(w io.Writer, logs []*wire.InvocationLog) {
	for i, l := range logs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		start := "warm"
		if l.GetColdStart() {
			start = "cold"
		}
		fmt.Fprintf(w, "j%d/t%d epoch %d  request %s  %s  (%s start, %d ms, %s, launched by %s)\n",
			l.GetJobId(), l.GetTaskId(), l.GetEpoch(), orDash(l.GetRequestId()), l.GetOutcome(), start, l.GetDurationMs(),
			time.UnixMilli(l.GetStartedUnixMs()).Format(time.RFC3339), l.GetNodeId())
		if l.GetOutcome() != "ok" && l.GetMessage() != "" {
			fmt.Fprintf(w, "  %s\n", l.GetMessage())
		}
		out := strings.TrimRight(l.GetOutput(), "\n")
		if out == "" {
			fmt.Fprintln(w, "  | (no output)")
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			fmt.Fprintf(w, "  | %s\n", line)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
