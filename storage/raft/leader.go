package raft

import (
	"sync"
)

// leaderWatch delivers leadership changes to Observe callbacks. raft's
// LeaderCh keeps only the latest value when nobody reads it, so raft never
// blocks on a slow callback; watchLeadership reads it on its own goroutine
// and calls the callbacks there, one at a time, in registration order.
type leaderWatch struct {
	mu      sync.Mutex
	fns     []func(isLeader bool) // called on every change
	pending []func(isLeader bool) // registered, not yet called once
	kick    chan struct{}         // pending is non-empty
}

// Observe registers fn to be called with true when this node becomes the
// raft leader and false when it stops being it. Calls come from one
// goroutine of the store, never concurrently, and fn is first called with
// the state at the time it was registered (once the store is started).
// Changes that happen while fn runs are coalesced: fn sees the latest
// state, and two true calls in a row mean leadership was lost and regained
// in between. fn must not call Close. raft itself never waits for fn.
func (s *Store) Observe(fn func(isLeader bool)) {
	w := &s.leader
	w.mu.Lock()
	w.pending = append(w.pending, fn)
	w.mu.Unlock()
	select {
	case w.kickCh() <- struct{}{}:
	default:
	}
}

func (w *leaderWatch) kickCh() chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kick == nil {
		w.kick = make(chan struct{}, 1)
	}
	return w.kick
}

// watchLeadership runs from Start to Close.
func (s *Store) watchLeadership(n *node) {
	defer s.wg.Done()
	w := &s.leader
	kick := w.kickCh()
	leaderCh := n.raft.LeaderCh()
	for {
		select {
		case <-s.closed:
			return
		case isLeader := <-leaderCh:
			s.leadershipChanged(isLeader)
			w.mu.Lock()
			fns := w.fns
			w.mu.Unlock()
			for _, fn := range fns {
				fn(isLeader)
			}
		case <-kick:
		}
		w.mu.Lock()
		pending := w.pending
		w.pending = nil
		w.fns = append(w.fns, pending...)
		w.mu.Unlock()
		for _, fn := range pending {
			fn(s.IsLeader())
		}
	}
}
