package main

import (
	"strings"
	"testing"

	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// status says when a node's numbers are not the cluster's, instead of
// zeros that look like data loss.
func TestStatusSaysWhenANodeCannotKnow(t *testing.T) {
	cases := []struct {
		st     *wire.ClusterStatusResponse
		want   string
		unsure bool
	}{
		{&wire.ClusterStatusResponse{NodeId: "n1", RaftAppliedIndex: 0, LastLogIndex: 5321},
			"n1: no leader; this node has applied 0 entries (its log holds up to index 5321); it cannot tell whether the cluster has more", true},
		{&wire.ClusterStatusResponse{NodeId: "n1", RaftAppliedIndex: 5321, LastLogIndex: 5321}, "n1: no leader", false},
		{&wire.ClusterStatusResponse{NodeId: "n2", LeaderId: "n1", RaftAppliedIndex: 10, CommitIndex: 90000, LastLogIndex: 90000},
			"n2: catching up: applied 10 of 90000 committed entries", true},
		{&wire.ClusterStatusResponse{NodeId: "n2", LeaderId: "n1", RaftAppliedIndex: 89990, CommitIndex: 90000}, "", false},
	}
	for _, c := range cases {
		note, unsure := statusNote(c.st)
		if !strings.HasPrefix(note, c.want) || (c.want == "" && note != "") || unsure != c.unsure {
			t.Errorf("%v: note %q unsure %v; want %q unsure %v", c.st, note, unsure, c.want, c.unsure)
		}
	}
}
