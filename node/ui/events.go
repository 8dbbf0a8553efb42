package ui

import (
	"fmt"
	"strings"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// How a job's events read, for `kappa jobs events` and the dashboard.

// LaunchReasons says why a task was launched, as "t5 launched …" ends.
var LaunchReasons = map[string]string{
	"first":          "",
	"yield":          "after it yielded",
	"unblocked":      "after what it waited for arrived",
	"timeout":        "after its lambda timed out",
	"crash":          "after its lambda crashed",
	"function_error": "after its lambda failed",
	"lease_expired":  "after its lease expired",
	"leader_change":  "after its lambda was lost in a leader change",
	"not_started":    "after its lambda could not be started",
	"returned":       "after its lambda returned early",
	"retry":          "for a retry of the job",
	"new_timeline":   "after a restore or a recovery from lost quorum",
}

// DescribeEvent says what an event means, in a few words.
func DescribeEvent(e *wire.JobEvent) string {
	task := fmt.Sprintf("t%d", e.GetTaskId())
	withDetail := func(s string) string {
		if e.GetDetail() != "" {
			return s + ": " + e.GetDetail()
		}
		return s
	}
	switch e.GetKind() {
	case "submitted":
		return withDetail("job submitted")
	case "spawned":
		return withDetail(task + " spawned")
	case "launched":
		s := fmt.Sprintf("%s launched (epoch %d)", task, e.GetEpoch())
		if why := LaunchReasons[e.GetReason()]; why != "" {
			s += " " + why
		}
		return withDetail(s)
	case "claimed":
		return fmt.Sprintf("%s claimed (epoch %d)", task, e.GetEpoch())
	case "checkpointed":
		return fmt.Sprintf("%s checkpointed (%d so far)", task, e.GetCount())
	case "yielded", "parked":
		return withDetail(task + " " + e.GetKind())
	case "leader_changed":
		return fmt.Sprintf("leader changed: %s (term %d)", e.GetDetail(), e.GetCount())
	case "task_done":
		return task + " done"
	case "task_failed":
		return withDetail(task + " failed")
	case "job_succeeded":
		return "job succeeded"
	case "job_failed":
		return withDetail("job failed")
	case "job_cancelled":
		return "job cancelled: " + strings.TrimPrefix(e.GetDetail(), "cancelled: ")
	case "retried":
		return withDetail("job retried")
	case "new_timeline":
		return fmt.Sprintf("new timeline, %d running tasks relaunched: %s", e.GetCount(), e.GetDetail())
	}
	return withDetail(e.GetKind())
}
