package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	hraft "github.com/hashicorp/raft"
)

// DefaultMaxCommandSize is the default limit on one encoded write batch.
const DefaultMaxCommandSize = 64 << 20

// Config configures a Store. Build one with DefaultConfig, set DataDir,
// NodeID and BindAddr (or StreamLayer, or pass a stream layer to Start),
// then pass it to New, which calls Validate.
type Config struct {
	// DataDir holds the FSM file, the raft log and the snapshots. Created
	// (0700) if missing.
	DataDir string
	// NodeID is this node's stable raft server ID. It must not change
	// across restarts.
	NodeID string
	// BindAddr is the cluster address raft listens on, e.g.
	// "127.0.0.1:8201". Port 0 picks a free port (tests). Ignored when
	// a stream layer is used; may be empty if Start always gets one.
	BindAddr string
	// AdvertiseAddr is the address peers dial to reach this node; empty
	// means the listener's address. Required when BindAddr is a wildcard
	// such as 0.0.0.0. Ignored when StreamLayer is set.
	AdvertiseAddr string
	// StreamLayer, when set, carries raft traffic instead of plain TCP
	// (e.g. a mutual-TLS listener/dialer) when Start gets none. Its Addr()
	// is the advertised address. The Store closes it on Close.
	StreamLayer hraft.StreamLayer
	// Logger receives raft, raft-wal and store logs. nil discards them.
	Logger *slog.Logger

	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one (checked every SnapshotInterval).
	SnapshotThreshold uint64
	// SnapshotInterval is how often raft checks SnapshotThreshold.
	SnapshotInterval time.Duration
	// TrailingLogs is how many log entries are kept after a snapshot so a
	// slightly lagging follower can catch up without a full snapshot.
	TrailingLogs uint64
	// RetainSnapshots is how many snapshot files are kept on disk.
	RetainSnapshots int
	// WALSegmentSize is the size of one raft-wal segment file; 0 means
	// raft-wal's default (64 MiB). Compaction deletes whole segments only,
	// and entries below the compaction point that are still in a live
	// segment go on being served to lagging followers.
	WALSegmentSize int

	// ApplyTimeout bounds one write (proposal to FSM result) and the
	// barrier issued by WaitLeader, on top of the caller's ctx.
	ApplyTimeout time.Duration
	// MaxCommandSize limits one encoded write batch; larger writes fail
	// with storage.ErrTooLarge.
	MaxCommandSize int

	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout are passed
	// to hashicorp/raft (see raft.Config). Lower them in tests.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// MaxAppendEntries caps how many log entries raft groups into one
	// disk write / AppendEntries RPC (group commit width), at most 1024.
	MaxAppendEntries int
	// ReadLeaseDuration is how long after a quorum acknowledged it the
	// leader serves VerifyRead without a round trip (lease.go). It must be
	// shorter than HeartbeatTimeout and ElectionTimeout; the margin covers
	// clock-rate drift between nodes. 0 means half the smaller of the two;
	// negative disables the lease (every VerifyRead is a round trip). All
	// nodes of a cluster must use the same timing settings.
	ReadLeaseDuration time.Duration
}

// DefaultConfig returns a Config with production defaults; DataDir, NodeID
// and BindAddr are left empty.
func DefaultConfig() Config {
	rc := hraft.DefaultConfig()
	return Config{
		SnapshotThreshold:  8192,
		SnapshotInterval:   2 * time.Minute,
		TrailingLogs:       10240,
		RetainSnapshots:    2,
		ApplyTimeout:       10 * time.Second,
		MaxCommandSize:     DefaultMaxCommandSize,
		HeartbeatTimeout:   rc.HeartbeatTimeout,
		ElectionTimeout:    rc.ElectionTimeout,
		LeaderLeaseTimeout: rc.LeaderLeaseTimeout,
		MaxAppendEntries:   256,
	}
}

// Validate reports the first invalid field, by name.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("raft: config: DataDir is required")
	case c.NodeID == "":
		return errors.New("raft: config: NodeID is required")
	case c.SnapshotThreshold == 0:
		return errors.New("raft: config: SnapshotThreshold must be > 0")
	case c.SnapshotInterval < 5*time.Millisecond:
		return errors.New("raft: config: SnapshotInterval must be >= 5ms")
	case c.WALSegmentSize < 0:
		return errors.New("raft: config: WALSegmentSize must be >= 0")
	case c.RetainSnapshots < 1:
		return errors.New("raft: config: RetainSnapshots must be >= 1")
	case c.ApplyTimeout <= 0:
		return errors.New("raft: config: ApplyTimeout must be > 0")
	case c.MaxCommandSize <= 0:
		return errors.New("raft: config: MaxCommandSize must be > 0")
	case c.MaxAppendEntries < 1 || c.MaxAppendEntries > 1024:
		return errors.New("raft: config: MaxAppendEntries must be in [1, 1024]")
	}
	if c.ReadLeaseDuration > 0 && c.ReadLeaseDuration >= min(c.HeartbeatTimeout, c.ElectionTimeout) {
		return errors.New("raft: config: ReadLeaseDuration must be shorter than HeartbeatTimeout and ElectionTimeout")
	}
	if c.StreamLayer == nil && c.BindAddr != "" {
		if _, _, err := net.SplitHostPort(c.BindAddr); err != nil {
			return fmt.Errorf("raft: config: BindAddr %q: %w", c.BindAddr, err)
		}
		if c.AdvertiseAddr != "" {
			if _, err := net.ResolveTCPAddr("tcp", c.AdvertiseAddr); err != nil {
				return fmt.Errorf("raft: config: AdvertiseAddr %q: %w", c.AdvertiseAddr, err)
			}
		}
	}
	rc := c.raftConfig(nil)
	if err := hraft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("raft: config: timeouts: %w", err)
	}
	return nil
}

// defaultReadLease is half the shortest time after which a follower that
// stopped hearing from its leader may vote for another.
func (c *Config) defaultReadLease() time.Duration {
	return min(c.HeartbeatTimeout, c.ElectionTimeout) / 2
}

// raftConfig maps Config onto hashicorp/raft's config.
func (c *Config) raftConfig(logger *slog.Logger) *hraft.Config {
	rc := hraft.DefaultConfig()
	rc.LocalID = hraft.ServerID(c.NodeID)
	rc.Logger = newHCLogger(logger, "raft")
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.MaxAppendEntries = c.MaxAppendEntries
	// Group commit: concurrent Apply calls queue in a buffered channel and
	// the leader loop writes up to MaxAppendEntries of them with one fsync.
	rc.BatchApplyCh = true
	// The bbolt FSM is durable and records its applied index, so a restart
	// must not overwrite it with an older snapshot (see fsm.go).
	rc.NoSnapshotRestoreOnStart = true
	return rc
}
