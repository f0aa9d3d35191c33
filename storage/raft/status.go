package raft

import (
	"context"
	"fmt"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/storage"
)

// WaitLeader blocks until the store is started and its cluster has a
// leader. When this node is the leader it also waits until every committed
// entry is applied locally (a raft barrier), so reads see all acknowledged
// writes.
func (s *Store) WaitLeader(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if n := s.node.Load(); n != nil {
			if _, id := n.raft.LeaderWithID(); id != "" {
				if n.raft.State() != hraft.Leader {
					return nil
				}
				term := n.raft.CurrentTerm()
				if err := s.wait(ctx, n.raft.Barrier(s.cfg.ApplyTimeout)); err != nil {
					return fmt.Errorf("raft: wait leader: barrier: %w", s.applyError(err))
				}
				if n.raft.CurrentTerm() == term {
					s.readyTerm.Store(term) // VerifyRead need not repeat it
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("raft: wait leader: %w", ctx.Err())
		case <-s.closed:
			return storage.ErrClosed
		case <-tick.C:
		}
	}
}

// IsLeader reports whether this node is the raft leader (false before
// Start).
func (s *Store) IsLeader() bool {
	n := s.node.Load()
	return n != nil && n.raft.State() == hraft.Leader
}

// Leader returns the current leader's cluster address and node ID, or
// empty strings when no leader is known (always before Start).
func (s *Store) Leader() (addr, id string) {
	n := s.node.Load()
	if n == nil {
		return "", ""
	}
	a, i := n.raft.LeaderWithID()
	return string(a), string(i)
}

// NodeID returns this node's raft server ID.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// Addr returns this node's advertised cluster address. Before Start it is
// the configured one: cfg.StreamLayer's address, else AdvertiseAddr, else
// BindAddr.
func (s *Store) Addr() string {
	if n := s.node.Load(); n != nil {
		return string(n.trans.LocalAddr())
	}
	switch {
	case s.cfg.StreamLayer != nil:
		return s.cfg.StreamLayer.Addr().String()
	case s.cfg.AdvertiseAddr != "":
		return s.cfg.AdvertiseAddr
	}
	return s.cfg.BindAddr
}

// AppliedIndex returns the raft index of the last entry applied to the
// local bbolt file. It may stay below the raft indexes of trailing
// entries that carry no data (leadership no-ops, configuration changes).
func (s *Store) AppliedIndex() uint64 { return s.fsm.appliedIndex() }

// CommitIndex returns the highest log index this node knows to be
// committed (0 before Start). On the leader, every acknowledged write is
// at or below it.
func (s *Store) CommitIndex() uint64 {
	if n := s.node.Load(); n != nil {
		return n.raft.CommitIndex()
	}
	return 0
}

// LastIndex returns the index of the last entry in the local log or
// snapshot (0 before Start).
func (s *Store) LastIndex() uint64 {
	if n := s.node.Load(); n != nil {
		return n.raft.LastIndex()
	}
	return 0
}

// WaitApplied blocks until the local FSM has applied the entry at index
// (or a later one, or a snapshot covering it), ctx is done or the store
// closes. Use it with an index from the leader's AppliedIndex or
// CommitIndex to read one's writes on a follower. An index that only a
// no-op or configuration entry occupies is reached when the next write
// is applied, so prefer an AppliedIndex.
func (s *Store) WaitApplied(ctx context.Context, index uint64) error {
	for {
		ch := s.fsm.appliedChanged()
		if s.fsm.appliedIndex() >= index {
			return nil
		}
		if err := s.fsm.failure(); err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("raft: wait applied %d (at %d): %w", index, s.fsm.appliedIndex(), ctx.Err())
		case <-s.closed:
			return storage.ErrClosed
		}
	}
}

// Stats returns raft's internal counters (state, term, indexes, ...), for
// metrics and debugging. Before Start it holds only "state" = "NotStarted"
// and "applied_index".
func (s *Store) Stats() map[string]string {
	if n := s.node.Load(); n != nil {
		return n.raft.Stats()
	}
	return map[string]string{"state": "NotStarted", "applied_index": fmt.Sprint(s.AppliedIndex())}
}
