package raftgrpc

//lint:file-ignore SA1019 raft's deprecated Leader and Candidate fields are still read from peers of older protocol versions; the transport carries every field

// Field-by-field conversions between hashicorp/raft's RPC structs and the
// wire messages of transport/raftpb. Written out by hand (no reflection, no
// msgpack inside protobuf) so that a field raft adds shows up as a missing
// line here, and convert_test.go checks that every field round-trips.

import (
	"time"

	"github.com/hashicorp/raft"
	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func headerToProto(h raft.RPCHeader) *pb.RPCHeader {
	return &pb.RPCHeader{ProtocolVersion: int64(h.ProtocolVersion), Id: h.ID, Addr: h.Addr}
}

func headerFromProto(m *pb.RPCHeader) raft.RPCHeader {
	return raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersion(m.GetProtocolVersion()),
		ID:              m.GetId(),
		Addr:            m.GetAddr(),
	}
}

func logToProto(l *raft.Log) *pb.Log {
	m := &pb.Log{
		Index:      l.Index,
		Term:       l.Term,
		Type:       pb.LogType(l.Type),
		Data:       l.Data,
		Extensions: l.Extensions,
	}
	if !l.AppendedAt.IsZero() {
		m.AppendedAt = timestamppb.New(l.AppendedAt)
	}
	return m
}

func logFromProto(m *pb.Log) *raft.Log {
	l := &raft.Log{
		Index:      m.GetIndex(),
		Term:       m.GetTerm(),
		Type:       raft.LogType(m.GetType()),
		Data:       m.GetData(),
		Extensions: m.GetExtensions(),
	}
	if m.GetAppendedAt() != nil {
		// Local time, as raft sets it on the leader; the instant is what counts.
		l.AppendedAt = m.GetAppendedAt().AsTime().In(time.Local)
	}
	return l
}

func appendEntriesRequestToProto(r *raft.AppendEntriesRequest) *pb.AppendEntriesRequest {
	entries := make([]*pb.Log, len(r.Entries))
	for i, l := range r.Entries {
		entries[i] = logToProto(l)
	}
	return &pb.AppendEntriesRequest{
		Header:            headerToProto(r.RPCHeader),
		Term:              r.Term,
		Leader:            r.Leader,
		PrevLogEntry:      r.PrevLogEntry,
		PrevLogTerm:       r.PrevLogTerm,
		Entries:           entries,
		LeaderCommitIndex: r.LeaderCommitIndex,
	}
}

func appendEntriesRequestFromProto(m *pb.AppendEntriesRequest) *raft.AppendEntriesRequest {
	var entries []*raft.Log
	if len(m.GetEntries()) > 0 {
		entries = make([]*raft.Log, len(m.GetEntries()))
		for i, l := range m.GetEntries() {
			entries[i] = logFromProto(l)
		}
	}
	return &raft.AppendEntriesRequest{
		RPCHeader:         headerFromProto(m.GetHeader()),
		Term:              m.GetTerm(),
		Leader:            m.GetLeader(),
		PrevLogEntry:      m.GetPrevLogEntry(),
		PrevLogTerm:       m.GetPrevLogTerm(),
		Entries:           entries,
		LeaderCommitIndex: m.GetLeaderCommitIndex(),
	}
}

func appendEntriesResponseToProto(r *raft.AppendEntriesResponse) *pb.AppendEntriesResponse {
	return &pb.AppendEntriesResponse{
		Header:         headerToProto(r.RPCHeader),
		Term:           r.Term,
		LastLog:        r.LastLog,
		Success:        r.Success,
		NoRetryBackoff: r.NoRetryBackoff,
	}
}

func appendEntriesResponseFromProto(m *pb.AppendEntriesResponse) raft.AppendEntriesResponse {
	return raft.AppendEntriesResponse{
		RPCHeader:      headerFromProto(m.GetHeader()),
		Term:           m.GetTerm(),
		LastLog:        m.GetLastLog(),
		Success:        m.GetSuccess(),
		NoRetryBackoff: m.GetNoRetryBackoff(),
	}
}

func requestVoteRequestToProto(r *raft.RequestVoteRequest) *pb.RequestVoteRequest {
	return &pb.RequestVoteRequest{
		Header:             headerToProto(r.RPCHeader),
		Term:               r.Term,
		Candidate:          r.Candidate,
		LastLogIndex:       r.LastLogIndex,
		LastLogTerm:        r.LastLogTerm,
		LeadershipTransfer: r.LeadershipTransfer,
	}
}

func requestVoteRequestFromProto(m *pb.RequestVoteRequest) *raft.RequestVoteRequest {
	return &raft.RequestVoteRequest{
		RPCHeader:          headerFromProto(m.GetHeader()),
		Term:               m.GetTerm(),
		Candidate:          m.GetCandidate(),
		LastLogIndex:       m.GetLastLogIndex(),
		LastLogTerm:        m.GetLastLogTerm(),
		LeadershipTransfer: m.GetLeadershipTransfer(),
	}
}

func requestVoteResponseToProto(r *raft.RequestVoteResponse) *pb.RequestVoteResponse {
	return &pb.RequestVoteResponse{
		Header:  headerToProto(r.RPCHeader),
		Term:    r.Term,
		Peers:   r.Peers,
		Granted: r.Granted,
	}
}

func requestVoteResponseFromProto(m *pb.RequestVoteResponse) raft.RequestVoteResponse {
	return raft.RequestVoteResponse{
		RPCHeader: headerFromProto(m.GetHeader()),
		Term:      m.GetTerm(),
		Peers:     m.GetPeers(),
		Granted:   m.GetGranted(),
	}
}

func requestPreVoteRequestToProto(r *raft.RequestPreVoteRequest) *pb.RequestPreVoteRequest {
	return &pb.RequestPreVoteRequest{
		Header:       headerToProto(r.RPCHeader),
		Term:         r.Term,
		LastLogIndex: r.LastLogIndex,
		LastLogTerm:  r.LastLogTerm,
	}
}

func requestPreVoteRequestFromProto(m *pb.RequestPreVoteRequest) *raft.RequestPreVoteRequest {
	return &raft.RequestPreVoteRequest{
		RPCHeader:    headerFromProto(m.GetHeader()),
		Term:         m.GetTerm(),
		LastLogIndex: m.GetLastLogIndex(),
		LastLogTerm:  m.GetLastLogTerm(),
	}
}

func requestPreVoteResponseToProto(r *raft.RequestPreVoteResponse) *pb.RequestPreVoteResponse {
	return &pb.RequestPreVoteResponse{
		Header:  headerToProto(r.RPCHeader),
		Term:    r.Term,
		Granted: r.Granted,
	}
}

func requestPreVoteResponseFromProto(m *pb.RequestPreVoteResponse) raft.RequestPreVoteResponse {
	return raft.RequestPreVoteResponse{
		RPCHeader: headerFromProto(m.GetHeader()),
		Term:      m.GetTerm(),
		Granted:   m.GetGranted(),
	}
}

func timeoutNowRequestToProto(r *raft.TimeoutNowRequest) *pb.TimeoutNowRequest {
	return &pb.TimeoutNowRequest{Header: headerToProto(r.RPCHeader)}
}

func timeoutNowRequestFromProto(m *pb.TimeoutNowRequest) *raft.TimeoutNowRequest {
	return &raft.TimeoutNowRequest{RPCHeader: headerFromProto(m.GetHeader())}
}

func timeoutNowResponseToProto(r *raft.TimeoutNowResponse) *pb.TimeoutNowResponse {
	return &pb.TimeoutNowResponse{Header: headerToProto(r.RPCHeader)}
}

func timeoutNowResponseFromProto(m *pb.TimeoutNowResponse) raft.TimeoutNowResponse {
	return raft.TimeoutNowResponse{RPCHeader: headerFromProto(m.GetHeader())}
}

func installSnapshotRequestToProto(r *raft.InstallSnapshotRequest) *pb.InstallSnapshotRequest {
	return &pb.InstallSnapshotRequest{
		Header:             headerToProto(r.RPCHeader),
		SnapshotVersion:    int64(r.SnapshotVersion),
		Term:               r.Term,
		Leader:             r.Leader,
		LastLogIndex:       r.LastLogIndex,
		LastLogTerm:        r.LastLogTerm,
		Peers:              r.Peers,
		Configuration:      r.Configuration,
		ConfigurationIndex: r.ConfigurationIndex,
		Size:               r.Size,
	}
}

func installSnapshotRequestFromProto(m *pb.InstallSnapshotRequest) *raft.InstallSnapshotRequest {
	return &raft.InstallSnapshotRequest{
		RPCHeader:          headerFromProto(m.GetHeader()),
		SnapshotVersion:    raft.SnapshotVersion(m.GetSnapshotVersion()),
		Term:               m.GetTerm(),
		Leader:             m.GetLeader(),
		LastLogIndex:       m.GetLastLogIndex(),
		LastLogTerm:        m.GetLastLogTerm(),
		Peers:              m.GetPeers(),
		Configuration:      m.GetConfiguration(),
		ConfigurationIndex: m.GetConfigurationIndex(),
		Size:               m.GetSize(),
	}
}

func installSnapshotResponseToProto(r *raft.InstallSnapshotResponse) *pb.InstallSnapshotResponse {
	return &pb.InstallSnapshotResponse{
		Header:  headerToProto(r.RPCHeader),
		Term:    r.Term,
		Success: r.Success,
	}
}

func installSnapshotResponseFromProto(m *pb.InstallSnapshotResponse) raft.InstallSnapshotResponse {
	return raft.InstallSnapshotResponse{
		RPCHeader: headerFromProto(m.GetHeader()),
		Term:      m.GetTerm(),
		Success:   m.GetSuccess(),
	}
}
