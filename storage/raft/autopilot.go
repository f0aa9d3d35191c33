package raft

import (
	"time"
)

// PeerContact is the leader's view of one peer: the latest AppendEntries
// (heartbeats included) the peer acknowledged as coming from its leader.
type PeerContact struct {
	// Term is the raft term of that acknowledgement.
	Term uint64
	// Age is how long ago the acknowledged message was sent.
	Age time.Duration
}

// PeerContacts returns, per peer id, the latest acknowledgement this node
// received while it led (the lease transport records them; see lease.go).
// A live follower of this leader acknowledges a heartbeat several times
// per HeartbeatTimeout, so its Age stays small and its Term is the
// current one; a dead or cut-off peer's Age grows. Entries of earlier
// terms are kept: compare Term with CurrentTerm. The map is nil before
// Start and empty on a node that never led. It is a copy the caller owns.
func (s *Store) PeerContacts() map[string]PeerContact {
	n := s.node.Load()
	if n == nil {
		return nil
	}
	now := s.now()
	t := n.acks
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]PeerContact, len(t.acks))
	for id, a := range t.acks {
		out[string(id)] = PeerContact{Term: a.term, Age: time.Duration(now - a.sent)}
	}
	return out
}

// CurrentTerm returns this node's current raft term (0 before Start).
func (s *Store) CurrentTerm() uint64 {
	if n := s.node.Load(); n != nil {
		return n.raft.CurrentTerm()
	}
	return 0
}
