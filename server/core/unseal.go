package core

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
	"github.com/secretumvault/secretumvault/storage"
)

// clusterInfo names the cluster; created at init.
type clusterInfo struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

func newClusterInfo(ctx context.Context, b storage.Backend) (clusterInfo, error) {
	id, err := logical.NewUUID()
	if err != nil {
		return clusterInfo{}, err
	}
	ci := clusterInfo{Name: "vault-cluster-" + id[:8], ID: id}
	raw, err := json.Marshal(ci)
	if err != nil {
		return clusterInfo{}, fmt.Errorf("core: encode cluster info: %w", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: clusterInfoKey, Value: raw}); err != nil {
		return clusterInfo{}, fmt.Errorf("core: store cluster info: %w", err)
	}
	return ci, nil
}

func loadClusterInfo(ctx context.Context, b storage.Backend) (clusterInfo, error) {
	var ci clusterInfo
	e, err := b.Get(ctx, clusterInfoKey)
	if err != nil {
		return ci, fmt.Errorf("core: read cluster info: %w", err)
	}
	if e == nil {
		return ci, fmt.Errorf("core: cluster info missing")
	}
	if err := json.Unmarshal(e.Value, &ci); err != nil {
		return ci, fmt.Errorf("core: decode cluster info: %w", err)
	}
	return ci, nil
}

func (c *Core) newTokenStore() *token.Store {
	return token.NewStore(storage.NewView(c.barrier, tokenPrefix), token.Options{
		Now:    c.cfg.Now,
		Logger: c.logger.With(slog.String("subsystem", "token")),
		Leases: tokenLeaser{c},
	})
}

// buildActiveState reads what only the active node holds from storage.
func (c *Core) buildActiveState(ctx context.Context) (*activeState, error) {
	ci, err := loadClusterInfo(ctx, c.barrier)
	if err != nil {
		return nil, err
	}
	ts := c.newTokenStore()
	if err := ts.Setup(ctx); err != nil {
		return nil, fmt.Errorf("core: token store setup: %w", err)
	}
	mt, err := loadMountTable(ctx, c.barrier, mountTableKey)
	if err != nil {
		return nil, err
	}
	at, err := loadMountTable(ctx, c.barrier, authTableKey)
	if err != nil {
		return nil, err
	}
	ids, err := c.newIdentityStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("core: identity store setup: %w", err)
	}
	r, err := c.buildRouter(ctx, mt, at, ts, ids)
	if err != nil {
		return nil, err
	}
	ps, err := loadPolicyStore(ctx, c.barrier)
	if err != nil {
		return nil, err
	}
	return &activeState{tokens: ts, policies: ps, identity: identityView{ids}, mounts: mt, auths: at, router: r, cluster: ci}, nil
}

// postUnseal runs once the barrier is unsealed. A single node becomes
// active at once; a clustered node starts its network, waits briefly for a
// leader and becomes active if it leads, standby otherwise (leadership
// changes later move it between the two).
func (c *Core) postUnseal(ctx context.Context) error {
	// Cluster identity, read once per unseal so health checks never touch
	// the barrier.
	ci, err := loadClusterInfo(ctx, c.barrier)
	if err != nil {
		return err
	}
	c.clusterInfo.Store(&ci)
	if c.cfg.Cluster == nil {
		st, err := c.buildActiveState(ctx)
		if err != nil {
			return err
		}
		c.setActive(ctx, st)
		c.sealed.Store(false)
		return nil
	}
	if err := c.members.StartAfterUnseal(ctx); err != nil {
		return err
	}
	c.sealed.Store(false)
	c.observeLeadership()
	wctx, cancel := context.WithTimeout(ctx, leaderWaitTime)
	defer cancel()
	if err := c.cfg.Cluster.WaitLeader(wctx); err != nil {
		c.logger.Warn("core: unsealed without a known leader; standing by", "error", err)
		return nil
	}
	c.transitionLock.Lock()
	defer c.transitionLock.Unlock()
	c.reconcileLeadership(wctx)
	return nil
}
