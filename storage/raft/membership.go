package raft

import (
	"context"
	"fmt"

	hraft "github.com/hashicorp/raft"
)

// Server is one member of the raft configuration.
type Server struct {
	ID      string
	Address string
	Voter   bool
	Leader  bool
}

// AddVoter adds (or updates the address of) a voting member. It must be
// called on the leader.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	f := s.raft.AddVoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, s.cfg.ApplyTimeout)
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: add voter %s: %w", id, s.applyError(err))
	}
	return nil
}

// RemoveServer removes a member. It must be called on the leader.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	f := s.raft.RemoveServer(hraft.ServerID(id), 0, s.cfg.ApplyTimeout)
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: remove server %s: %w", id, s.applyError(err))
	}
	return nil
}

// Configuration returns the latest raft configuration as this node knows it.
func (s *Store) Configuration(ctx context.Context) ([]Server, error) {
	f := s.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return nil, fmt.Errorf("raft: configuration: %w", s.applyError(err))
	}
	_, leaderID := s.raft.LeaderWithID()
	servers := f.Configuration().Servers
	out := make([]Server, 0, len(servers))
	for _, srv := range servers {
		out = append(out, Server{
			ID:      string(srv.ID),
			Address: string(srv.Address),
			Voter:   srv.Suffrage == hraft.Voter,
			Leader:  srv.ID == leaderID,
		})
	}
	return out, nil
}

// Snapshot asks raft to take a snapshot now (and compact the log down to
// TrailingLogs entries).
func (s *Store) Snapshot(ctx context.Context) error {
	if err := s.wait(ctx, s.raft.Snapshot()); err != nil {
		return fmt.Errorf("raft: snapshot: %w", s.applyError(err))
	}
	return nil
}

// AppliedIndex returns the raft index of the last entry applied to the
// local bbolt file.
func (s *Store) AppliedIndex() uint64 { return s.fsm.appliedIndex() }

// Stats returns raft's internal counters (state, term, indexes, ...), for
// metrics and debugging.
func (s *Store) Stats() map[string]string { return s.raft.Stats() }
