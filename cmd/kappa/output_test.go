package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// unmarshalProto reads one -o json message back into m.
func unmarshalProto(t *testing.T, raw []byte, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal(raw, m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
}

// Every read command's -o json parses and says what the API says (or the
// table says, for the commands that combine several answers); run
// --detach, jobs wait, and the exit codes of not found and already
// finished.
func TestReadCommandsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := startCluster(t, proccluster.Options{Nodes: 1})
	env := []string{"KAPPA_CLUSTER=" + strings.Join(c.Addrs(), ","), "KAPPA_CERTS_DIR=" + c.CertsDir()}
	cli := func(args ...string) result {
		t.Helper()
		return kappaEnv(t, env, args...)
	}
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("kappa %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api := c.Client()

	// run --detach prints the job id at once; jobs wait prints the result.
	job := strings.TrimSpace(must("run", "--detach", example("fib.py"), "--event", `{"n": 6}`))
	id, err := parseJobID(job)
	if err != nil || !strings.HasPrefix(job, "j") {
		t.Fatalf("run --detach printed %q", job)
	}
	if got := strings.TrimSpace(must("jobs", "wait", job)); got != "8" {
		t.Fatalf("jobs wait %s printed %q, want fib(6) = 8", job, got)
	}

	// jobs list and show: the API's messages.
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(must("jobs", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	jobs, err := api.Jobs(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(jobs) {
		t.Fatalf("jobs list -o json: %d jobs, the API %d", len(list), len(jobs))
	}
	for i, raw := range list {
		var got wire.JobStatus
		unmarshalProto(t, raw, &got)
		if !proto.Equal(&got, jobs[i]) {
			t.Errorf("jobs list -o json[%d] = %v, the API says %v", i, &got, jobs[i])
		}
	}
	var shown wire.JobStatus
	unmarshalProto(t, []byte(must("jobs", "show", job, "-o", "json")), &shown)
	detail, err := api.JobDetail(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&shown, detail) || shown.GetResultJson() != "8" || len(shown.GetTasks()) < 2 {
		t.Errorf("jobs show -o json = %v, the API says %v", &shown, detail)
	}
	var asYAML, asJSON map[string]any
	if err := yaml.Unmarshal([]byte(must("jobs", "show", job, "-o", "yaml")), &asYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(protoJSON(detail), &asJSON); err != nil {
		t.Fatal(err)
	}
	for k := range asJSON {
		if _, ok := asYAML[k]; !ok {
			t.Errorf("jobs show -o yaml lacks %q", k)
		}
	}
	if asYAML["state"] != "JOB_SUCCEEDED" || asYAML["result_json"] != "8" {
		t.Errorf("jobs show -o yaml: state %v, result_json %v", asYAML["state"], asYAML["result_json"])
	}

	// jobs events: the history the API streams.
	var events wire.JobEventsResponse
	unmarshalProto(t, []byte(must("jobs", "events", job, "-o", "json")), &events)
	var want []*wire.JobEvent
	if err := api.Events(ctx, id, 0, false, func(r *wire.JobEventsResponse) { want = append(want, r.GetEvents()...) }); err != nil {
		t.Fatal(err)
	}
	if len(events.GetEvents()) != len(want) || len(want) == 0 {
		t.Fatalf("jobs events -o json: %d events, the API %d", len(events.GetEvents()), len(want))
	}
	for i := range want {
		if !proto.Equal(events.GetEvents()[i], want[i]) {
			t.Errorf("event %d: %v, the API says %v", i, events.GetEvents()[i], want[i])
		}
	}

	// tasks logs: every invocation the table shows.
	var logs []json.RawMessage
	if err := json.Unmarshal([]byte(must("tasks", "logs", job, "-o", "json")), &logs); err != nil {
		t.Fatal(err)
	}
	table := must("tasks", "logs", job)
	if len(logs) < 2 {
		t.Fatalf("tasks logs -o json: %d invocations", len(logs))
	}
	for _, raw := range logs {
		var l wire.InvocationLog
		unmarshalProto(t, raw, &l)
		if l.GetJobId() != id || l.GetRequestId() == "" || !strings.Contains(table, l.GetRequestId()) {
			t.Errorf("tasks logs -o json: %v is not in the table", &l)
		}
	}

	// status and cluster members: the rows of their tables.
	var status []nodeStatus
	if err := json.Unmarshal([]byte(must("status", "-o", "json")), &status); err != nil {
		t.Fatal(err)
	}
	statusTable := must("status")
	if len(status) != 1 || !status[0].Reachable || status[0].NodeID != "n1" || status[0].Role != "leader" || status[0].LeaderID != "n1" ||
		!status[0].TLS || !strings.Contains(statusTable, status[0].StateHash[:12]) {
		t.Errorf("status -o json: %+v; table:\n%s", status, statusTable)
	}
	var members []memberRow
	if err := json.Unmarshal([]byte(must("cluster", "members", "-o", "json")), &members); err != nil {
		t.Fatal(err)
	}
	m, err := api.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != len(m.GetMembers()) || members[0].NodeID != m.GetMembers()[0].GetNodeId() ||
		members[0].APIAddr != m.GetMembers()[0].GetApiAddr() || members[0].Role != "leader" || !members[0].Voter || members[0].AppliedIndex == nil {
		t.Errorf("cluster members -o json: %+v, the API says %v", members, m.GetMembers())
	}

	// version: what the table says.
	var v wire.VersionInfo
	unmarshalProto(t, []byte(must("version", "-o", "json")), &v)
	if !strings.Contains(must("version"), "kappa "+v.GetVersion()+" (commit "+v.GetCommit()+")") || v.GetCommandVersion() == 0 {
		t.Errorf("version -o json: %v", &v)
	}

	// Exit codes.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"jobs", "show", "j999"}, exitNotFound},
		{[]string{"jobs", "wait", "j999"}, exitNotFound},
		{[]string{"jobs", "cancel", job}, exitFinished},
		{[]string{"jobs", "list", "-o", "xml"}, exitUsage},
		{[]string{"run", "--detach", "--cluster", "", example("fib.py")}, exitUsage},
	} {
		if r := cli(tc.args...); r.code != tc.code {
			t.Errorf("kappa %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stderr)
		}
	}
}
