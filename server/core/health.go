package core

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Health answers sys/health; server/api maps it to Vault's status codes.
func (c *Core) Health(ctx context.Context) *HealthStatus {
	h := &HealthStatus{
		Sealed:                     c.sealed.Load(),
		ServerTimeUTC:              c.cfg.Now().Unix(),
		Version:                    Version,
		ReplicationPerformanceMode: "disabled",
		ReplicationDRMode:          "disabled",
	}
	if ok, err := c.Initialized(ctx); err == nil {
		h.Initialized = ok
	}
	if h.Sealed {
		return h
	}
	h.Standby, _ = c.Standby()
	if ci := c.clusterInfo.Load(); ci != nil {
		h.ClusterName, h.ClusterID = ci.Name, ci.ID
	}
	return h
}

// Leader answers sys/leader.
func (c *Core) Leader(ctx context.Context) (*LeaderStatus, error) {
	if c.sealed.Load() {
		return nil, logical.ErrSealed
	}
	ls := &LeaderStatus{
		IsSelf:               c.isActive(),
		LeaderAddress:        c.cfg.APIAddr,
		LeaderClusterAddress: c.cfg.ClusterAddr,
	}
	if c.cfg.Cluster == nil {
		c.stateLock.RLock()
		ls.ActiveTime = c.activeAt
		c.stateLock.RUnlock()
		return ls, nil
	}
	ls.HAEnabled = true
	rec, err := c.readActiveNode(ctx)
	if err != nil {
		return nil, err
	}
	_, leaderID := c.cfg.Cluster.Leader()
	switch {
	case rec != nil && rec.NodeID == leaderID:
		ls.LeaderAddress, ls.LeaderClusterAddress, ls.ActiveTime = rec.APIAddr, rec.ClusterAddr, rec.Since
	case ls.IsSelf:
		ls.ActiveTime = c.activeAt
	default:
		ls.LeaderAddress, ls.LeaderClusterAddress = "", ""
	}
	return ls, nil
}
