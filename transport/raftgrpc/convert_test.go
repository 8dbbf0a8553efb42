package raftgrpc

//lint:file-ignore SA1019 the tests set raft's deprecated Leader field, which older peers still send

import (
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"google.golang.org/protobuf/proto"
)

var filledHeader = raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("node-1"), Addr: []byte("10.0.0.1:7000")}

func filledLog(i uint64, typ raft.LogType) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       7,
		Type:       typ,
		Data:       []byte{byte(i), 0, 1},
		Extensions: []byte("ext"),
		AppendedAt: time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.Local),
	}
}

// TestConversionsRoundTrip sends a struct with every field set through its
// wire message (marshalled and parsed) and back, for every RPC. requireFilled
// fails when raft grows a field this fixture (and so the conversion) lacks.
func TestConversionsRoundTrip(t *testing.T) {
	cases := map[string]func(t *testing.T){
		"AppendEntriesRequest": func(t *testing.T) {
			check(t, &raft.AppendEntriesRequest{
				RPCHeader: filledHeader, Term: 7, Leader: []byte("10.0.0.1:7000"),
				PrevLogEntry: 41, PrevLogTerm: 6, LeaderCommitIndex: 40,
				Entries: []*raft.Log{filledLog(42, raft.LogBarrier), filledLog(43, raft.LogConfiguration)},
			}, appendEntriesRequestToProto, appendEntriesRequestFromProto)
		},
		"AppendEntriesResponse": func(t *testing.T) {
			check(t, &raft.AppendEntriesResponse{RPCHeader: filledHeader, Term: 7, LastLog: 43, Success: true, NoRetryBackoff: true},
				appendEntriesResponseToProto, appendEntriesResponseFromProto)
		},
		"RequestVoteRequest": func(t *testing.T) {
			check(t, &raft.RequestVoteRequest{RPCHeader: filledHeader, Term: 8, Candidate: []byte("10.0.0.1:7000"),
				LastLogIndex: 43, LastLogTerm: 7, LeadershipTransfer: true},
				requestVoteRequestToProto, requestVoteRequestFromProto)
		},
		"RequestVoteResponse": func(t *testing.T) {
			check(t, &raft.RequestVoteResponse{RPCHeader: filledHeader, Term: 8, Peers: []byte("old peers"), Granted: true},
				requestVoteResponseToProto, requestVoteResponseFromProto)
		},
		"RequestPreVoteRequest": func(t *testing.T) {
			check(t, &raft.RequestPreVoteRequest{RPCHeader: filledHeader, Term: 9, LastLogIndex: 43, LastLogTerm: 7},
				requestPreVoteRequestToProto, requestPreVoteRequestFromProto)
		},
		"RequestPreVoteResponse": func(t *testing.T) {
			check(t, &raft.RequestPreVoteResponse{RPCHeader: filledHeader, Term: 9, Granted: true},
				requestPreVoteResponseToProto, requestPreVoteResponseFromProto)
		},
		"TimeoutNowRequest": func(t *testing.T) {
			check(t, &raft.TimeoutNowRequest{RPCHeader: filledHeader}, timeoutNowRequestToProto, timeoutNowRequestFromProto)
		},
		"TimeoutNowResponse": func(t *testing.T) {
			check(t, &raft.TimeoutNowResponse{RPCHeader: filledHeader}, timeoutNowResponseToProto, timeoutNowResponseFromProto)
		},
		"InstallSnapshotRequest": func(t *testing.T) {
			check(t, &raft.InstallSnapshotRequest{RPCHeader: filledHeader, SnapshotVersion: raft.SnapshotVersionMax,
				Term: 7, Leader: []byte("10.0.0.1:7000"), LastLogIndex: 43, LastLogTerm: 7,
				Peers: []byte("old peers"), Configuration: []byte("configuration"), ConfigurationIndex: 12, Size: 1 << 40},
				installSnapshotRequestToProto, installSnapshotRequestFromProto)
		},
		"InstallSnapshotResponse": func(t *testing.T) {
			check(t, &raft.InstallSnapshotResponse{RPCHeader: filledHeader, Term: 7, Success: true},
				installSnapshotResponseToProto, installSnapshotResponseFromProto)
		},
	}
	for name, run := range cases {
		t.Run(name, run)
	}
}

// TestConversionsOfZeroValues: what raft leaves empty stays empty (a zero
// AppendedAt, no entries), rather than turning into epoch times or empty
// non-nil slices.
func TestConversionsOfZeroValues(t *testing.T) {
	got := wire(t, appendEntriesRequestToProto(&raft.AppendEntriesRequest{}), appendEntriesRequestFromProto)
	if !reflect.DeepEqual(*got, raft.AppendEntriesRequest{}) {
		t.Fatalf("zero AppendEntriesRequest came back as %+v", got)
	}
	l := wire(t, logToProto(&raft.Log{}), logFromProto)
	if !reflect.DeepEqual(*l, raft.Log{}) {
		t.Fatalf("zero Log came back as %+v", l)
	}
}

// TestLogTypesMatchRaft: the proto enum's numbers are raft's, so the
// conversion is a cast.
func TestLogTypesMatchRaft(t *testing.T) {
	pairs := map[raft.LogType]pb.LogType{
		raft.LogCommand:              pb.LogType_LOG_TYPE_COMMAND,
		raft.LogNoop:                 pb.LogType_LOG_TYPE_NOOP,
		raft.LogAddPeerDeprecated:    pb.LogType_LOG_TYPE_ADD_PEER_DEPRECATED,
		raft.LogRemovePeerDeprecated: pb.LogType_LOG_TYPE_REMOVE_PEER_DEPRECATED,
		raft.LogBarrier:              pb.LogType_LOG_TYPE_BARRIER,
		raft.LogConfiguration:        pb.LogType_LOG_TYPE_CONFIGURATION,
	}
	for r, p := range pairs {
		if int32(r) != int32(p) {
			t.Errorf("raft %v is %d, proto %v is %d", r, r, p, p)
		}
	}
	// A type a newer raft may add passes through unchanged.
	if got := wire(t, logToProto(&raft.Log{Type: 42}), logFromProto).Type; got != 42 {
		t.Errorf("log type 42 came back as %d", got)
	}
}

func TestIsHeartbeat(t *testing.T) {
	hb := raft.AppendEntriesRequest{RPCHeader: filledHeader, Term: 3, Leader: []byte("x")}
	if !isHeartbeat(&hb) {
		t.Fatal("raft's heartbeat not recognised")
	}
	for name, change := range map[string]func(r *raft.AppendEntriesRequest){
		"entries":       func(r *raft.AppendEntriesRequest) { r.Entries = []*raft.Log{filledLog(1, raft.LogCommand)} },
		"prev entry":    func(r *raft.AppendEntriesRequest) { r.PrevLogEntry = 1 },
		"prev term":     func(r *raft.AppendEntriesRequest) { r.PrevLogTerm = 1 },
		"commit index":  func(r *raft.AppendEntriesRequest) { r.LeaderCommitIndex = 1 },
		"no term":       func(r *raft.AppendEntriesRequest) { r.Term = 0 },
		"no leader":     func(r *raft.AppendEntriesRequest) { r.Addr, r.Leader = nil, nil },
		"only new addr": func(r *raft.AppendEntriesRequest) { r.Leader = nil },
	} {
		r := hb
		change(&r)
		if isHeartbeat(&r) != (name == "only new addr") {
			t.Errorf("%s: isHeartbeat = %v", name, isHeartbeat(&r))
		}
	}
}

// check round-trips in through the wire and compares.
func check[In, Out any, M proto.Message](t *testing.T, in *In, to func(*In) M, from func(M) Out) {
	t.Helper()
	requireFilled(t, reflect.ValueOf(*in), reflect.TypeFor[In]().Name())
	got := reflect.Indirect(reflect.ValueOf(wire(t, to(in), from))).Interface()
	if !reflect.DeepEqual(got, *in) {
		t.Fatalf("round trip changed the value:\n sent %+v\n  got %+v", *in, got)
	}
}

// wire marshals m, parses the bytes into a fresh message and converts that.
func wire[M proto.Message, Out any](t *testing.T, m M, from func(M) Out) Out {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	parsed := m.ProtoReflect().Type().New().Interface().(M)
	if err := proto.Unmarshal(b, parsed); err != nil {
		t.Fatal(err)
	}
	return from(parsed)
}

// requireFilled fails on any zero field, however deep, of a test fixture.
func requireFilled(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if tm, ok := v.Interface().(time.Time); ok {
		if tm.IsZero() {
			t.Fatalf("fixture leaves %s zero", path)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			requireFilled(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Pointer:
		if v.IsNil() {
			t.Fatalf("fixture leaves %s nil", path)
		}
		requireFilled(t, v.Elem(), path)
	case reflect.Slice:
		if v.Len() == 0 {
			t.Fatalf("fixture leaves %s empty", path)
		}
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := range v.Len() {
				requireFilled(t, v.Index(i), path+"[]")
			}
		}
	default:
		if v.IsZero() {
			t.Fatalf("fixture leaves %s zero", path)
		}
	}
}
