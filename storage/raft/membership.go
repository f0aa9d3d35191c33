package raft

import (
	"context"
	"fmt"

	hraft "github.com/hashicorp/raft"
)

// Server is one member of the raft configuration.
type Server struct {
	ID      string `json:"id"`      // raft server ID (node ID)
	Address string `json:"address"` // advertised cluster address
	Voter   bool   `json:"voter"`   // false for a non-voter
	Leader  bool   `json:"leader"`  // the leader as this node knows it
}

// AddVoter adds a voting member, or updates the address of an existing
// one, or promotes a non-voter. It must be called on the leader; it
// returns once the new configuration is committed.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: add voter %s: %w", id, err)
	}
	f := n.raft.AddVoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, s.cfg.ApplyTimeout)
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: add voter %s: %w", id, s.applyError(err))
	}
	return nil
}

// AddNonvoter adds a member that receives the log but does not vote (a
// read replica, or a new node catching up before promotion). It must be
// called on the leader; an existing voter keeps its vote.
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: add non-voter %s: %w", id, err)
	}
	f := n.raft.AddNonvoter(hraft.ServerID(id), hraft.ServerAddress(addr), 0, s.cfg.ApplyTimeout)
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: add non-voter %s: %w", id, s.applyError(err))
	}
	return nil
}

// RemoveServer removes a member. It must be called on the leader; a leader
// that removes itself steps down once the change is committed.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: remove server %s: %w", id, err)
	}
	f := n.raft.RemoveServer(hraft.ServerID(id), 0, s.cfg.ApplyTimeout)
	if err := s.wait(ctx, f); err != nil {
		return fmt.Errorf("raft: remove server %s: %w", id, s.applyError(err))
	}
	return nil
}

// Configuration returns the latest raft configuration as this node knows
// it (a follower may lag the leader).
func (s *Store) Configuration(ctx context.Context) ([]Server, error) {
	n, err := s.started()
	if err != nil {
		return nil, fmt.Errorf("raft: configuration: %w", err)
	}
	f := n.raft.GetConfiguration()
	if err := s.wait(ctx, f); err != nil {
		return nil, fmt.Errorf("raft: configuration: %w", s.applyError(err))
	}
	_, leaderID := n.raft.LeaderWithID()
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

// TransferLeadership asks the leader to hand leadership to the most
// up-to-date voter and waits for the outcome. The read lease is dropped
// first and not renewed in the current term: the chosen node is told to
// start an election at once, which voters grant without waiting for their
// heartbeat timeout.
func (s *Store) TransferLeadership(ctx context.Context) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: transfer leadership: %w", err)
	}
	if n.raft.State() != hraft.Leader {
		return fmt.Errorf("raft: transfer leadership: %w", s.notLeader())
	}
	s.dropLease(n.raft.CurrentTerm())
	if err := s.wait(ctx, n.raft.LeadershipTransfer()); err != nil {
		return fmt.Errorf("raft: transfer leadership: %w", s.applyError(err))
	}
	return nil
}

// Snapshot asks raft to take a snapshot now (and compact the log down to
// TrailingLogs entries).
func (s *Store) Snapshot(ctx context.Context) error {
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: snapshot: %w", err)
	}
	if err := s.wait(ctx, n.raft.Snapshot()); err != nil {
		return fmt.Errorf("raft: snapshot: %w", s.applyError(err))
	}
	return nil
}
