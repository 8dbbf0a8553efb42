package fsm

import (
	"container/list"
	"sort"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// Client sessions make a retried client write (submit, cancel) apply once:
// an Apply that failed with a leadership loss may still commit, so the
// client retries with the same identity and gets the stored result.
//
// The table is bounded (command version 2): a refused request is not
// remembered, since it changed nothing and applying it again is the same
// as applying it for the first time; a session idle for SessionLifetimeMs
// of cluster clock is forgotten; and beyond MaxSessions the least recently
// used goes first. All three depend only on the log, so every replica
// forgets the same sessions at the same entry.
const (
	// sessionKeep bounds the remembered requests per client.
	sessionKeep = 64
	// SessionLifetimeMs is how long a client's retries are recognized
	// after its last write: far longer than any client retries one.
	SessionLifetimeMs = 10 * 60 * 1000
	// MaxSessions bounds the table however fast new clients come.
	MaxSessions = 10000
)

// sessionResult returns the stored result of a client request applied
// before, so a retried write is not applied twice.
func (m *Machine) sessionResult(client string, req uint64) *pb.Result {
	s := m.sessions[client]
	for _, e := range s.GetEntries() {
		if e.GetRequestId() == req {
			return proto.Clone(e.GetResult()).(*pb.Result)
		}
	}
	return nil
}

func (m *Machine) rememberSession(client string, req uint64, r *pb.Result) {
	bounded := m.atLeast(2)
	if bounded && r.GetError() != nil {
		return
	}
	s := m.sessions[client]
	if s == nil {
		s = &pb.Session{ClientId: client}
		m.sessions[client] = s
	}
	s.Entries = append(s.Entries, &pb.SessionEntry{RequestId: req, Result: proto.Clone(r).(*pb.Result)})
	sort.Slice(s.Entries, func(a, b int) bool { return s.Entries[a].GetRequestId() < s.Entries[b].GetRequestId() })
	if len(s.Entries) > sessionKeep {
		s.Entries = s.Entries[len(s.Entries)-sessionKeep:]
	}
	if bounded {
		s.LastClockMs = m.clock
		m.touchSession(s)
	}
}

// touchSession moves a session to its place in the age list (kept from
// version 2 on; rebuilt when the cluster moves to it), which is ordered by
// (last clock, client id): the clock never goes back, so the
// place is at the back, behind only sessions of the same clock and a
// larger id.
func (m *Machine) touchSession(s *pb.Session) {
	if e := m.sessionAt[s.GetClientId()]; e != nil {
		m.sessionAge.Remove(e)
	}
	before := m.sessionAge.Back()
	for before != nil {
		o := m.sessions[before.Value.(string)]
		if o.GetLastClockMs() < s.GetLastClockMs() || (o.GetLastClockMs() == s.GetLastClockMs() && o.GetClientId() < s.GetClientId()) {
			break
		}
		before = before.Prev()
	}
	if before == nil {
		m.sessionAt[s.GetClientId()] = m.sessionAge.PushFront(s.GetClientId())
	} else {
		m.sessionAt[s.GetClientId()] = m.sessionAge.InsertAfter(s.GetClientId(), before)
	}
}

// expireSessions forgets sessions idle past their lifetime and, beyond
// MaxSessions, the least recently used.
func (m *Machine) expireSessions() {
	if !m.atLeast(2) {
		return
	}
	for e := m.sessionAge.Front(); e != nil; e = m.sessionAge.Front() {
		id := e.Value.(string)
		if m.clock-m.sessions[id].GetLastClockMs() <= SessionLifetimeMs && len(m.sessions) <= MaxSessions {
			return
		}
		m.sessionAge.Remove(e)
		delete(m.sessionAt, id)
		delete(m.sessions, id)
	}
}

// clockStarts gives the sessions from before the cluster clock (command
// version 1) their first clock: their lifetime starts now, not at 0, which
// a clock that starts at some leader's uptime would be long past.
func (m *Machine) clockStarts(at int64) {
	for _, s := range m.sessions {
		s.LastClockMs = at
	}
	m.rebuildSessionAge()
}

// rebuildSessionAge derives the age list from the sessions.
func (m *Machine) rebuildSessionAge() {
	ids := make([]string, 0, len(m.sessions))
	for id := range m.sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		x, y := m.sessions[ids[a]], m.sessions[ids[b]]
		if x.GetLastClockMs() != y.GetLastClockMs() {
			return x.GetLastClockMs() < y.GetLastClockMs()
		}
		return ids[a] < ids[b]
	})
	m.sessionAge = list.New()
	m.sessionAt = map[string]*list.Element{}
	for _, id := range ids {
		m.sessionAt[id] = m.sessionAge.PushBack(id)
	}
}

// Sessions is how many client sessions the table holds.
func (m *Machine) Sessions() int { return len(m.sessions) }
