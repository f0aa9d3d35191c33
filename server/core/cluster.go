package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

// Cluster is the replication layer of a clustered node: raft plus the
// mutual-TLS cluster port. vaultd wires the implementation (RaftCluster);
// core decides when the network starts (after init, unseal or join,
// because the cluster CA lives behind the barrier) and reacts to
// leadership changes.
type Cluster interface {
	// Start brings the cluster network up with this node's identity;
	// bootstrap forms a new one-node cluster. Start on a started cluster
	// only swaps the identity.
	Start(ctx context.Context, id *cluster.NodeIdentity, bootstrap bool) error
	// Started reports whether Start has run.
	Started() bool
	// NodeID is this node's raft server id.
	NodeID() string
	// ClusterAddr is the cluster address this node advertises to peers.
	ClusterAddr() string
	// IsLeader reports raft leadership.
	IsLeader() bool
	// Leader returns the leader's cluster address and id ("" if unknown).
	Leader() (addr, id string)
	// WaitLeader blocks until a leader is known; when this node leads it
	// also waits until every committed entry is applied locally.
	WaitLeader(ctx context.Context) error
	// LinearizableRead runs read against local state and returns nil only
	// if the result is linearizable: the leader lease held (or leadership
	// was verified) before and after the read (ADR 0003).
	LinearizableRead(ctx context.Context, read func() error) error
	// Observe registers fn, called (never concurrently, never blocking
	// raft) on every leadership change of this node.
	Observe(fn func(isLeader bool))
	// TransferLeadership asks raft to hand leadership to another voter.
	TransferLeadership() error
	// AddPeer adds a voter (or a non-voter) to the configuration.
	AddPeer(ctx context.Context, id, addr string, voter bool) error
	// RemovePeer removes a server from the configuration.
	RemovePeer(ctx context.Context, id string) error
	// Peers lists the configuration.
	Peers(ctx context.Context) ([]Peer, error)
	// SaveSnapshot streams a checksummed snapshot of the state to w.
	SaveSnapshot(ctx context.Context, w io.Writer) error
	// RestoreSnapshot verifies and installs a snapshot cluster-wide.
	RestoreSnapshot(ctx context.Context, r io.Reader, force bool) error
	// Stats returns this node's raft position and, on the leader, when
	// each peer last acknowledged it (autopilot's view of health).
	Stats() ClusterStats
}

// ClusterStats is a node's raft position and, on the leader, its view of
// the other servers.
type ClusterStats struct {
	// Term is the current raft term; LastIndex the last index of the local
	// log.
	Term      uint64
	LastIndex uint64
	// Contacts maps a peer id to its latest acknowledgement of this node as
	// leader (empty on a node that never led).
	Contacts map[string]PeerContact
}

// PeerContact is when a peer last acknowledged the leader, and in which
// term.
type PeerContact struct {
	Term uint64
	Age  time.Duration
}

// Peer is one server of the raft configuration.
type Peer struct {
	ID      string `json:"node_id"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

// Storage keys of cluster state behind the barrier.
const (
	nodeCertTTL    = 10 * 365 * 24 * time.Hour
	leaderWaitTime = 15 * time.Second
	// sealedTransferEvery rate-limits leadership hand-offs by a sealed leader.
	sealedTransferEvery = 10 * time.Second
)

// errKeyringMismatch: the stored keyring does not open with this node's
// root key (after a restore of another cluster's snapshot).
var errKeyringMismatch = errors.New("core: stored keyring does not match this node's root key")

// ErrStandby is returned for requests that reach a standby's core (the
// API layer forwards them to the active node before that happens).
var ErrStandby = fmt.Errorf("%w: this node is a standby", logical.ErrUnavailable)

// activeNode is the record the active node writes so that standbys can
// answer sys/leader.
type activeNode struct {
	NodeID      string    `json:"node_id"`
	APIAddr     string    `json:"api_addr"`
	ClusterAddr string    `json:"cluster_addr"`
	Since       time.Time `json:"since"`
}

// Standby reports whether this node is an unsealed standby and, if so, the
// cluster address of the active node to forward to ("" when unknown).
func (c *Core) Standby() (bool, string) {
	cl := c.cfg.Cluster
	if cl == nil || c.sealed.Load() || c.active.Load() != nil {
		return false, ""
	}
	addr, _ := cl.Leader()
	return true, addr
}

// isActive reports whether this node serves requests itself.
func (c *Core) isActive() bool {
	return !c.sealed.Load() && c.active.Load() != nil
}

// startClusterForInit creates the cluster CA and bootstraps a one-node
// cluster so that init can write through raft.
func (c *Core) startClusterForInit(ctx context.Context) (*cluster.CA, error) {
	cl := c.cfg.Cluster
	if cl == nil {
		return nil, nil
	}
	ca, err := cluster.NewCA()
	if err != nil {
		return nil, fmt.Errorf("core: cluster CA: %w", err)
	}
	id, err := ca.IssueIdentity(cl.NodeID())
	if err != nil {
		return nil, fmt.Errorf("core: cluster identity: %w", err)
	}
	if err := cl.Start(ctx, id, true); err != nil {
		return nil, fmt.Errorf("core: start cluster: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, leaderWaitTime)
	defer cancel()
	if err := cl.WaitLeader(wctx); err != nil {
		return nil, fmt.Errorf("core: wait for leader: %w", err)
	}
	return ca, nil
}

func saveCA(ctx context.Context, b storage.Backend, ca *cluster.CA) error {
	if ca == nil {
		return nil
	}
	raw, err := ca.Marshal()
	if err != nil {
		return fmt.Errorf("core: encode cluster CA: %w", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: clusterCAKey, Value: raw}); err != nil {
		return fmt.Errorf("core: store cluster CA: %w", err)
	}
	return nil
}

func (c *Core) loadCA(ctx context.Context) (*cluster.CA, error) {
	e, err := c.barrier.Get(ctx, clusterCAKey)
	if err != nil {
		return nil, fmt.Errorf("core: read cluster CA: %w", err)
	}
	if e == nil {
		return nil, errors.New("core: cluster CA missing")
	}
	return cluster.UnmarshalCA(e.Value)
}

// startClusterAfterUnseal brings the network up on a restarted node: the
// CA comes from local (barrier-encrypted) state.
func (c *Core) startClusterAfterUnseal(ctx context.Context) error {
	cl := c.cfg.Cluster
	if cl == nil || cl.Started() {
		return nil
	}
	ca, err := c.loadCA(ctx)
	if err != nil {
		return err
	}
	id, err := ca.IssueIdentity(cl.NodeID())
	if err != nil {
		return fmt.Errorf("core: cluster identity: %w", err)
	}
	if err := cl.Start(ctx, id, false); err != nil {
		return fmt.Errorf("core: start cluster: %w", err)
	}
	return nil
}

// observeLeadership subscribes once to leadership changes.
func (c *Core) observeLeadership() {
	c.observeOnce.Do(func() {
		c.cfg.Cluster.Observe(func(bool) { c.leadershipChanged() })
		c.startEcho()
	})
}

// leadershipChanged reconciles active/standby with raft leadership. It
// runs on its own goroutine so it never blocks raft.
func (c *Core) leadershipChanged() {
	go func() {
		c.transitionLock.Lock()
		defer c.transitionLock.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), leaderWaitTime)
		defer cancel()
		c.reconcileLeadership(ctx)
	}()
}

// reconcileLeadership makes the node active when it leads and is
// unsealed, standby otherwise. Callers hold transitionLock.
func (c *Core) reconcileLeadership(ctx context.Context) {
	cl := c.cfg.Cluster
	leader := cl.IsLeader()
	switch {
	case leader && c.sealed.Load():
		// A sealed node cannot serve: hand leadership on, at most once per
		// sealedTransferEvery so that an all-sealed cluster does not spin.
		now := time.Now().UnixNano()
		if last := c.sealedTransferAt.Load(); now-last < int64(sealedTransferEvery) {
			return
		}
		c.sealedTransferAt.Store(now)
		if err := cl.TransferLeadership(); err != nil {
			c.logger.Warn("core: sealed leader could not transfer leadership", "error", err)
		}
	case leader && c.active.Load() == nil:
		if err := c.becomeActive(ctx); err != nil {
			c.logger.Error("core: could not become active", "error", err)
			if errors.Is(err, errKeyringMismatch) {
				// The replicated keyring (a restored snapshot of another
				// cluster) does not open with our root key: seal, so the
				// operator can unseal with the right keys.
				c.stateLock.Lock()
				c.sealLocked()
				c.stateLock.Unlock()
			}
			if err := cl.TransferLeadership(); err != nil {
				c.logger.Warn("core: leadership transfer failed", "error", err)
			}
		}
	case !leader && c.active.Load() != nil:
		c.clearActive()
		c.logger.Info("core: lost leadership, now standby")
	}
}

// becomeActive rebuilds everything only the active node holds from
// storage: keyring (another node may have rotated it), token store, mount
// table, router.
func (c *Core) becomeActive(ctx context.Context) error {
	cl := c.cfg.Cluster
	if err := cl.WaitLeader(ctx); err != nil {
		return fmt.Errorf("core: wait for applied log: %w", err)
	}
	if err := c.barrier.ReloadKeyring(ctx); err != nil {
		if errors.Is(err, barrier.ErrBadRootKey) {
			return fmt.Errorf("%w: %v", errKeyringMismatch, err)
		}
		return fmt.Errorf("core: reload keyring: %w", err)
	}
	st, err := c.buildActiveState(ctx)
	if err != nil {
		return err
	}
	rec, err := json.Marshal(activeNode{NodeID: cl.NodeID(), APIAddr: c.cfg.APIAddr, ClusterAddr: cl.ClusterAddr(), Since: c.cfg.Now().UTC()})
	if err != nil {
		return err
	}
	if err := c.barrier.Put(ctx, &storage.Entry{Key: activeNodeKey, Value: rec}); err != nil {
		return fmt.Errorf("core: record active node: %w", err)
	}
	if !cl.IsLeader() || c.sealed.Load() {
		return errors.New("core: leadership lost while becoming active")
	}
	c.setActive(ctx, st)
	c.logger.Info("core: active", "node_id", cl.NodeID())
	return nil
}

func (c *Core) readActiveNode(ctx context.Context) (*activeNode, error) {
	e, err := c.barrier.Get(ctx, activeNodeKey)
	if err != nil || e == nil {
		return nil, err
	}
	var rec activeNode
	if err := json.Unmarshal(e.Value, &rec); err != nil {
		return nil, fmt.Errorf("core: decode active node: %w", err)
	}
	return &rec, nil
}
