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
// from the local bbolt file and so may lag the leader on a follower; the
// leader confirms a read is linearizable with VerifyRead (leader lease,
// lease.go and docs/adr/0003-read-consistency.md).
//
// New opens only local state; Start brings up raft and its network (see
// Store). The public API lives in this file, backend.go, status.go,
// membership.go, leader.go (Observe) and usersnapshot.go; the state
// machine in fsm.go and snapshot.go; the wire format in command.go; the
// on-disk layout in schema.go.
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
	"sync/atomic"
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
	// ErrNotStarted is returned by writes, membership changes and other
	// cluster operations before Start: a Store opened by New serves only
	// local reads until its network starts.
	ErrNotStarted = errors.New("raft: not started")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("raft: already started")
	// ErrUnknownOutcome is returned when a write was proposed but its
	// result could not be observed (ctx done, timeout, leadership lost):
	// it may or may not have been committed.
	ErrUnknownOutcome = errors.New("raft: write outcome unknown")
	// ErrFSMFailed is returned after the state machine failed to write its
	// bbolt file; the node must be restarted (the log is replayed).
	ErrFSMFailed = errors.New("raft: state machine failed")
	// ErrBadSnapshot is returned by RestoreSnapshot for a snapshot that is
	// truncated, corrupted (checksum mismatch) or not in this package's
	// format. Nothing was changed.
	ErrBadSnapshot = errors.New("raft: invalid snapshot")
	// ErrClusterMismatch is returned by RestoreSnapshot without force for
	// a snapshot taken from a different cluster.
	ErrClusterMismatch = errors.New("raft: snapshot is from a different cluster")
)

// Store is a raft-replicated, transactional storage.Backend. All methods
// are safe for concurrent use.
//
// Life cycle: New opens the local state only (the bbolt FSM, the raft log
// and the snapshots), so Get, List, AppliedIndex and SaveSnapshot work
// while the node is sealed or not yet part of a cluster; writes fail with
// ErrNotStarted. Start brings up the network transport and the raft
// instance (and Bootstrap starts it with the configured transport if
// needed). Close stops everything.
type Store struct {
	cfg      Config
	logger   *slog.Logger
	openedAt int64 // leaseClock at New (lease.go, waitVoteSafe)

	fsm   *fsm
	wal   *wal.WAL
	meta  *metadb.BoltMetaDB // raft-wal's meta store; WAL.Close leaves it open
	snaps *snapshotStore

	startMu sync.Mutex           // serializes Start and Close
	node    atomic.Pointer[node] // nil until Start
	leader  leaderWatch          // Observe callbacks (leader.go)

	clusterID atomic.Pointer[string] // see SetClusterID

	// Read lease (lease.go).
	lease        atomic.Pointer[lease] // current read lease, nil if none
	leaseMu      sync.Mutex            // orders lease grants with dropLease
	readyTerm    atomic.Uint64         // term whose barrier has applied
	transferTerm atomic.Uint64         // term in which a transfer started
	leaseWake    chan struct{}         // leadership changed

	proposals chan *proposal // to runProposer
	inflight  chan struct{}  // semaphore of raft entries in flight
	wg        sync.WaitGroup // background goroutines

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// node is what Start creates: the raft instance and its transport.
type node struct {
	raft  *hraft.Raft
	trans *leaseTransport
	acks  *ackTracker
}

var _ storage.Transactional = (*Store)(nil)

// New opens (or creates) the node's local state under cfg.DataDir: the
// FSM file, the raft log and the snapshot store. It does not touch the
// network; call Start (or Bootstrap) for that. ctx bounds only the
// opening.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ReadLeaseDuration == 0 {
		cfg.ReadLeaseDuration = cfg.defaultReadLease()
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg:       cfg,
		logger:    logger,
		openedAt:  leaseClock(),
		closed:    make(chan struct{}),
		leaseWake: make(chan struct{}, 1),
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

// open creates the data directories and opens the local parts in order.
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
	segSize := cfg.WALSegmentSize
	if segSize == 0 {
		segSize = wal.DefaultSegmentSize
	}
	s.wal, err = wal.Open(walPath, wal.WithMetaStore(s.meta), wal.WithSegmentSize(segSize),
		wal.WithLogger(newHCLogger(cfg.Logger, "raft-wal")))
	if err != nil {
		return fmt.Errorf("raft: open wal %s: %w", walPath, err)
	}
	snapBase := filepath.Join(cfg.DataDir, raftDir)
	files, err := hraft.NewFileSnapshotStoreWithLogger(snapBase, cfg.RetainSnapshots, newHCLogger(cfg.Logger, "raft-snapshot"))
	if err != nil {
		return fmt.Errorf("raft: open snapshot store %s: %w", snapBase, err)
	}
	s.snaps = &snapshotStore{FileSnapshotStore: files}
	// A restore interrupted by a crash leaves its spool file behind.
	stale, _ := filepath.Glob(filepath.Join(snapBase, userRestorePattern))
	for _, p := range stale {
		_ = os.Remove(p)
	}
	if err := s.recoverFromSnapshot(); err != nil {
		return err
	}
	return ctx.Err()
}

// Start creates the network transport over sl and starts raft. With a nil
// sl it uses cfg.StreamLayer, or plain TCP on cfg.BindAddr. sl.Addr() is
// the address advertised to peers (Bootstrap records it in the cluster
// configuration). The Store owns sl from this call on (it is closed on
// Close, or at once if Start fails).
// A restarted node resumes its cluster: raft replays the log, and the FSM
// skips the entries it already applied. A fresh node has no cluster until
// Bootstrap or until a leader adds it. ctx bounds only the start.
func (s *Store) Start(ctx context.Context, sl hraft.StreamLayer) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if sl == nil {
		sl = s.cfg.StreamLayer
	}
	fail := func(err error) error {
		if sl != nil && sl != s.cfg.StreamLayer {
			_ = sl.Close()
		}
		return err
	}
	select {
	case <-s.closed:
		return fail(storage.ErrClosed)
	default:
	}
	if s.node.Load() != nil {
		return fail(ErrAlreadyStarted)
	}
	if err := s.waitVoteSafe(ctx); err != nil {
		return fail(err)
	}
	n, err := s.startNode(sl)
	if err != nil {
		return err
	}
	s.node.Store(n)
	s.wg.Add(2)
	go s.watchLeadership(n)
	go s.runLease(n)
	return nil
}

// startNode creates the transport and the raft instance.
func (s *Store) startNode(sl hraft.StreamLayer) (*node, error) {
	trans, err := newTransport(&s.cfg, sl)
	if err != nil {
		return nil, err
	}
	acks := newAckTracker()
	n := &node{trans: &leaseTransport{NetworkTransport: trans, acks: acks}, acks: acks}
	n.raft, err = hraft.NewRaft(s.cfg.raftConfig(s.cfg.Logger), s.fsm, s.wal, s.wal, s.snaps, n.trans)
	if err != nil {
		_ = trans.Close()
		return nil, fmt.Errorf("raft: start: %w", err)
	}
	return n, nil
}

// Started reports whether Start has run successfully.
func (s *Store) Started() bool { return s.node.Load() != nil }

// started returns the running node or ErrNotStarted / storage.ErrClosed.
func (s *Store) started() (*node, error) {
	select {
	case <-s.closed:
		return nil, storage.ErrClosed
	default:
	}
	n := s.node.Load()
	if n == nil {
		return nil, ErrNotStarted
	}
	return n, nil
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

// newTransport returns the network transport over sl if set, plain TCP
// on cfg.BindAddr otherwise.
func newTransport(cfg *Config, sl hraft.StreamLayer) (*hraft.NetworkTransport, error) {
	logger := newHCLogger(cfg.Logger, "raft-net")
	if sl != nil {
		return hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
			Stream: sl, MaxPool: 3, Timeout: 10 * time.Second, Logger: logger,
		}), nil
	}
	if cfg.BindAddr == "" {
		return nil, errors.New("raft: start: no stream layer and no BindAddr")
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

// Bootstrap makes this node the single voter of a new cluster, starting
// the store first (with the configured transport) if Start has not run.
// It is a no-op when the node already has raft state (a restart, or a
// node that joined a cluster), so it is safe to call on every start.
func (s *Store) Bootstrap(ctx context.Context) error {
	if !s.Started() {
		if err := s.Start(ctx, nil); err != nil && !errors.Is(err, ErrAlreadyStarted) {
			return fmt.Errorf("raft: bootstrap: %w", err)
		}
	}
	n, err := s.started()
	if err != nil {
		return fmt.Errorf("raft: bootstrap: %w", err)
	}
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
		Address:  n.trans.LocalAddr(),
	}}}
	err = s.wait(ctx, n.raft.BootstrapCluster(conf))
	if err != nil && !errors.Is(err, hraft.ErrCantBootstrap) {
		return fmt.Errorf("raft: bootstrap: %w", err)
	}
	return nil
}

// Close stops raft, then closes the transport, the log and the FSM file.
// Writes in flight fail; later calls return storage.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.startMu.Lock()
		defer s.startMu.Unlock()
		close(s.closed)
		s.closeErr = s.closeParts()
	})
	return s.closeErr
}

// closeParts closes whatever New and Start opened, in reverse order.
func (s *Store) closeParts() error {
	var errs []error
	n := s.node.Load()
	if n != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft: shutdown: %w", err))
		}
	}
	s.wg.Wait() // shutdown resolved every future, so the waiters are done
	if n != nil {
		if err := n.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("raft: close transport: %w", err))
		}
	} else if s.cfg.StreamLayer != nil {
		_ = s.cfg.StreamLayer.Close() // never handed to a transport
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
