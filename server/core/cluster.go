package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

const (
	// leaderWaitTime bounds the wait for a leader after unseal and a
	// leadership transition.
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

// observeLeadership subscribes once to leadership changes.
func (c *Core) observeLeadership() {
	c.observeOnce.Do(func() {
		c.cfg.Cluster.Observe(func(bool) { c.leadershipChanged() })
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
