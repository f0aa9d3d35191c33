package raft

import (
	"context"
	"errors"
	"fmt"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/secretumvault/secretumvault/storage"
)

// Get implements storage.Backend from the local bbolt file.
func (s *Store) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	val, ok, err := s.fsm.get(key)
	if err != nil || !ok {
		return nil, err
	}
	return &storage.Entry{Key: key, Value: val}, nil
}

// List implements storage.Backend from the local bbolt file.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := s.readable(ctx); err != nil {
		return nil, err
	}
	return s.fsm.list(prefix)
}

// Put implements storage.Backend. It returns once the write is durable on
// a quorum and applied locally.
func (s *Store) Put(ctx context.Context, e *storage.Entry) error {
	return s.Transaction(ctx, []*storage.Op{{Kind: storage.OpPut, Entry: e}})
}

// Delete implements storage.Backend. Deleting a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.Transaction(ctx, []*storage.Op{{Kind: storage.OpDelete, Entry: &storage.Entry{Key: key}}})
}

// Transaction implements storage.Transactional: ops are applied in order,
// all or none, in one raft entry and one bbolt tx.
func (s *Store) Transaction(ctx context.Context, ops []*storage.Op) error {
	if len(ops) == 0 {
		return nil
	}
	if err := validateOps(ops); err != nil {
		return err
	}
	return s.propose(ctx, encodeBatch(ops))
}

// propose is the one path of every replicated write: size-check, hand the
// command to the proposer (group commit, proposer.go), wait on the result /
// ctx / shutdown, return the FSM's error.
func (s *Store) propose(ctx context.Context, cmd []byte) error {
	if len(cmd) > s.cfg.MaxCommandSize {
		return fmt.Errorf("raft: command of %d bytes exceeds %d: %w", len(cmd), s.cfg.MaxCommandSize, storage.ErrTooLarge)
	}
	if err := s.writable(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
	defer cancel()
	p := &proposal{cmd: cmd, done: make(chan error, 1)}
	select {
	case s.proposals <- p:
	case <-ctx.Done():
		return fmt.Errorf("raft: propose: %w", ctx.Err()) // not proposed
	case <-s.closed:
		return storage.ErrClosed
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, ctx.Err())
	case <-s.closed:
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, storage.ErrClosed)
	}
}

// wait blocks until f resolves, ctx is done or the store closes. raft
// itself fails pending futures on shutdown.
func (s *Store) wait(ctx context.Context, f hraft.Future) error {
	if ctx.Done() == nil {
		return f.Error()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, ctx.Err())
	case <-s.closed:
		return storage.ErrClosed
	}
}

// applyError maps raft's errors to this package's and storage's sentinels.
func (s *Store) applyError(err error) error {
	switch {
	case errors.Is(err, hraft.ErrNotLeader):
		return s.notLeader()
	case errors.Is(err, hraft.ErrRaftShutdown):
		return storage.ErrClosed
	case errors.Is(err, hraft.ErrLeadershipLost), errors.Is(err, hraft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	return fmt.Errorf("raft: apply: %w", err)
}

func (s *Store) notLeader() error {
	if addr, id := s.Leader(); id != "" {
		return fmt.Errorf("%w (leader %s at %s)", ErrNotLeader, id, addr)
	}
	return fmt.Errorf("%w (no leader known)", ErrNotLeader)
}

func (s *Store) readable(ctx context.Context) error {
	select {
	case <-s.closed:
		return storage.ErrClosed
	default:
	}
	return ctx.Err()
}

func (s *Store) writable(ctx context.Context) error {
	if err := s.readable(ctx); err != nil {
		return err
	}
	if err := s.fsm.failure(); err != nil {
		return err
	}
	if !s.Started() {
		return ErrNotStarted
	}
	if !s.IsLeader() {
		return s.notLeader()
	}
	return nil
}

// validateOps rejects a batch before it is proposed, with the same rules
// the FSM applies (validateDecoded).
func validateOps(ops []*storage.Op) error {
	for i, op := range ops {
		if op == nil || op.Entry == nil {
			return fmt.Errorf("raft: op %d: nil op or entry: %w", i, storage.ErrInvalidKey)
		}
		if op.Kind != storage.OpPut && op.Kind != storage.OpDelete {
			return fmt.Errorf("raft: op %d: unknown kind %d", i, op.Kind)
		}
		if err := storage.ValidateKey(op.Entry.Key); err != nil {
			return fmt.Errorf("raft: op %d: %w", i, err)
		}
		if len(op.Entry.Key) > bbolt.MaxKeySize {
			return fmt.Errorf("raft: op %d: key of %d bytes: %w", i, len(op.Entry.Key), storage.ErrTooLarge)
		}
	}
	return nil
}
