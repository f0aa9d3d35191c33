// Package raft is the embedded, replicated storage.Backend: a
// hashicorp/raft node whose log lives in raft-wal and whose state machine
// applies write batches to a bbolt file.
//
// Writes (Put, Delete, Transaction) are encoded as one command (command.go),
// proposed through raft and acknowledged only after the entry is fsynced in
// the raft log and applied (and fsynced) in bbolt. Concurrent writes are
// group-committed: a proposer goroutine packs writes that queue while
// earlier entries are in flight into one raft entry (proposer.go), and the
// FSM applies each run of committed entries in one bbolt transaction.
// Writes on a follower fail with ErrNotLeader. Reads (Get, List) are served
// from the local bbolt file and so may lag the leader on a follower.
//
// The public API lives in this file, backend.go and membership.go; the
// state machine in fsm.go and snapshot.go; the wire format in command.go;
// the on-disk layout in schema.go.
package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/secretumvault/secretumvault/storage"
)

// Sentinel errors of package raft.
var (
	// ErrNotLeader is returned by writes on a node that is not the raft
	// leader. The error text names the known leader, if any; Leader returns
	// it for forwarding.
	ErrNotLeader = errors.New("raft: not the leader")
	// ErrUnknownOutcome is returned when a write was proposed but its
	// result could not be observed (ctx done, timeout, leadership lost):
	// it may or may not have been committed.
	ErrUnknownOutcome = errors.New("raft: write outcome unknown")
	// ErrFSMFailed is returned after the state machine failed to write its
	// bbolt file; the node must be restarted (the log is replayed).
	ErrFSMFailed = errors.New("raft: state machine failed")
)

// Store is a raft-replicated, transactional storage.Backend. All methods
// are safe for concurrent use.
type Store struct {
	cfg    Config
	logger *slog.Logger

	raft  *hraft.Raft
	fsm   *fsm
	wal   *wal.WAL
	meta  *metadb.BoltMetaDB // raft-wal's meta store; WAL.Close leaves it open
	snaps *hraft.FileSnapshotStore
	trans *hraft.NetworkTransport

	proposals chan *proposal // to runProposer
	inflight  chan struct{}  // semaphore of raft entries in flight
	wg        sync.WaitGroup // runProposer and its result waiters

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

var _ storage.Transactional = (*Store)(nil)

// New opens (or creates) the node's state under cfg.DataDir and starts
// raft. A fresh node has no cluster until Bootstrap (or, later, a join);
// a restarted node resumes its cluster. ctx bounds only the opening.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg:       cfg,
		logger:    logger,
		closed:    make(chan struct{}),
		proposals: make(chan *proposal, proposalQueue),
		inflight:  make(chan struct{}, maxInflight),
	}
	if err := s.open(ctx); err != nil {
		_ = s.closeParts()
		return nil, err
	}
	s.wg.Add(1)
	go s.runProposer()
	return s, nil
}

// open creates the data directories and opens every part in order.
func (s *Store) open(ctx context.Context) error {
	cfg := &s.cfg
	walPath := filepath.Join(cfg.DataDir, raftDir, walDir)
	if err := os.MkdirAll(walPath, 0o700); err != nil {
		return fmt.Errorf("raft: create %s: %w", walPath, err)
	}
	// The FSM file first: its lock times out (boltOptions) where raft-wal's
	// meta file would wait forever, so a second process on the same
	// DataDir fails fast here.
	var err error
	if s.fsm, err = openFSM(filepath.Join(cfg.DataDir, fsmFile), s.logger); err != nil {
		return err
	}
	s.meta = &metadb.BoltMetaDB{}
	s.wal, err = wal.Open(walPath, wal.WithMetaStore(s.meta), wal.WithLogger(newHCLogger(cfg.Logger, "raft-wal")))
	if err != nil {
		return fmt.Errorf("raft: open wal %s: %w", walPath, err)
	}
	snapBase := filepath.Join(cfg.DataDir, raftDir)
	s.snaps, err = hraft.NewFileSnapshotStoreWithLogger(snapBase, cfg.RetainSnapshots, newHCLogger(cfg.Logger, "raft-snapshot"))
	if err != nil {
		return fmt.Errorf("raft: open snapshot store %s: %w", snapBase, err)
	}
	if err := s.recoverFromSnapshot(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.trans, err = newTransport(cfg); err != nil {
		return err
	}
	s.raft, err = hraft.NewRaft(cfg.raftConfig(cfg.Logger), s.fsm, s.wal, s.wal, s.snaps, s.trans)
	if err != nil {
		return fmt.Errorf("raft: start: %w", err)
	}
	return nil
}

// recoverFromSnapshot restores the FSM from the newest snapshot when the
// bbolt file is older than it (file lost, or a crash between raft saving
// an installed snapshot and the FSM restoring it). raft itself is told not
// to restore on start (NoSnapshotRestoreOnStart), as it would otherwise
// replace an up-to-date file with an older snapshot.
func (s *Store) recoverFromSnapshot() error {
	metas, err := s.snaps.List()
	if err != nil {
		return fmt.Errorf("raft: list snapshots: %w", err)
	}
	if len(metas) == 0 || metas[0].Index <= s.fsm.appliedIndex() {
		return nil
	}
	meta, rc, err := s.snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("raft: open snapshot %s: %w", metas[0].ID, err)
	}
	s.logger.Warn("raft: fsm older than latest snapshot; restoring",
		"fsm_index", s.fsm.appliedIndex(), "snapshot_index", meta.Index)
	return s.fsm.Restore(rc)
}

// newTransport returns the network transport: cfg.StreamLayer if set,
// plain TCP otherwise.
func newTransport(cfg *Config) (*hraft.NetworkTransport, error) {
	logger := newHCLogger(cfg.Logger, "raft-net")
	if cfg.StreamLayer != nil {
		return hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
			Stream: cfg.StreamLayer, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
		}), nil
	}
	var advertise net.Addr
	if cfg.AdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("raft: AdvertiseAddr %q: %w", cfg.AdvertiseAddr, err)
		}
		advertise = a
	}
	t, err := hraft.NewTCPTransportWithLogger(cfg.BindAddr, advertise, 3, 10*time.Second, logger)
	if err != nil {
		return nil, fmt.Errorf("raft: listen on %s: %w", cfg.BindAddr, err)
	}
	return t, nil
}

// Bootstrap makes this node the single voter of a new cluster. It is a
// no-op when the node already has raft state (a restart, or a node that
// joined a cluster), so it is safe to call on every start.
func (s *Store) Bootstrap(ctx context.Context) error {
	has, err := hraft.HasExistingState(s.wal, s.wal, s.snaps)
	if err != nil {
		return fmt.Errorf("raft: bootstrap: %w", err)
	}
	if has {
		return nil
	}
	conf := hraft.Configuration{Servers: []hraft.Server{{
		Suffrage: hraft.Voter,
		ID:       hraft.ServerID(s.cfg.NodeID),
		Address:  s.trans.LocalAddr(),
	}}}
	err = s.wait(ctx, s.raft.BootstrapCluster(conf))
	if err != nil && !errors.Is(err, hraft.ErrCantBootstrap) {
		return fmt.Errorf("raft: bootstrap: %w", err)
	}
	return nil
}

// WaitLeader blocks until the cluster has a leader. When this node is the
// leader it also waits until every committed entry is applied locally
// (a raft barrier), so reads see all acknowledged writes.
func (s *Store) WaitLeader(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, id := s.raft.LeaderWithID(); id != "" {
			if !s.IsLeader() {
				return nil
			}
			if err := s.wait(ctx, s.raft.Barrier(s.cfg.ApplyTimeout)); err != nil {
				return fmt.Errorf("raft: wait leader: barrier: %w", err)
			}
			return nil
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

// IsLeader reports whether this node is the raft leader.
func (s *Store) IsLeader() bool { return s.raft.State() == hraft.Leader }

// Leader returns the current leader's cluster address and node ID, or
// empty strings when no leader is known.
func (s *Store) Leader() (addr, id string) {
	a, i := s.raft.LeaderWithID()
	return string(a), string(i)
}

// NodeID returns this node's raft server ID.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// Addr returns this node's advertised cluster address.
func (s *Store) Addr() string { return string(s.trans.LocalAddr()) }

// Close stops raft, then closes the transport, the log and the FSM file.
// Writes in flight fail; later calls return storage.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.closeErr = s.closeParts()
	})
	return s.closeErr
}

// closeParts closes whatever open managed to start, in reverse order.
func (s *Store) closeParts() error {
	var errs []error
	if s.raft != nil {
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft: shutdown: %w", err))
		}
	}
	s.wg.Wait() // shutdown resolved every future, so the waiters are done
	if s.trans != nil {
		if err := s.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft: close transport: %w", err))
		}
	} else if s.cfg.StreamLayer != nil {
		_ = s.cfg.StreamLayer.Close() // New failed before the transport owned it
	}
	if s.wal != nil {
		if err := s.wal.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft: close wal: %w", err))
		}
	}
	if s.meta != nil {
		if err := s.meta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft: close wal meta: %w", err))
		}
	}
	if s.fsm != nil {
		errs = append(errs, s.fsm.close())
	}
	return errors.Join(errs...)
}
