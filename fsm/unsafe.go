package fsm

// Unsafe holds test-only switches that break one of the FSM's guarantees
// on purpose, so the Jepsen-style checkers can be shown to catch the break
// (a checker that never fails proves nothing). Production never sets them:
// the server refuses them unless KAPPA_UNSAFE_TEST=1.
type Unsafe struct {
	// NoDedup applies a re-sent task call again instead of answering it
	// from the stored response: an RPC whose reply was lost runs twice.
	NoDedup bool
	// NoFencing accepts calls of any claim, so a superseded lambda (a
	// zombie of an earlier epoch) keeps acting for its task.
	NoFencing bool
}

// SetUnsafe switches the given guarantees off (tests only).
func (m *Machine) SetUnsafe(u Unsafe) { m.unsafe = u }

// reapplies: with NoDedup, the last applied seq re-sent is applied anew.
func (u Unsafe) reapplies(seq, last uint64) bool {
	return u.NoDedup && seq == last && seq > 0
}
