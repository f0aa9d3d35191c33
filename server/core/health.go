package core

import "context"

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
	if st := c.active.Load(); st != nil && !h.Sealed {
		h.ClusterName, h.ClusterID = st.cluster.Name, st.cluster.ID
		h.Standby = !c.isActive()
	}
	return h
}

// Leader answers sys/leader.
func (c *Core) Leader(ctx context.Context) (*LeaderStatus, error) {
	if _, err := c.state(); err != nil {
		return nil, err
	}
	ls := &LeaderStatus{
		HAEnabled:            false,
		IsSelf:               c.isActive(),
		LeaderAddress:        c.cfg.APIAddr,
		LeaderClusterAddress: c.cfg.ClusterAddr,
	}
	if ha, ok := c.physical.(HA); ok {
		ls.HAEnabled = true
		addr, _ := ha.Leader()
		if !ls.IsSelf {
			ls.LeaderAddress, ls.LeaderClusterAddress = "", addr
		}
	}
	if ls.IsSelf {
		c.stateLock.RLock()
		ls.ActiveTime = c.activeAt
		c.stateLock.RUnlock()
	}
	return ls, nil
}
