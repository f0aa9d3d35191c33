package core

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// requireRoot authenticates raw and demands the root policy, for the raft
// operator endpoints (Vault guards them with sudo).
func (c *Core) requireRoot(ctx context.Context, raw string) error {
	c.stateLock.RLock()
	defer c.stateLock.RUnlock()
	st, err := c.state()
	if err != nil {
		return err
	}
	te, err := c.authenticate(ctx, st, raw)
	if err != nil {
		return err
	}
	if !te.IsRoot() {
		return fmt.Errorf("%w: raft operations need the root token", logical.ErrPermissionDenied)
	}
	return nil
}

// RaftConfiguration answers sys/storage/raft/configuration.
func (c *Core) RaftConfiguration(ctx context.Context, token string) ([]Peer, error) {
	cl, err := c.activeCluster()
	if err != nil {
		return nil, err
	}
	if err := c.requireRoot(ctx, token); err != nil {
		return nil, err
	}
	return cl.Peers(ctx)
}

// RaftRemovePeer answers sys/storage/raft/remove-peer.
func (c *Core) RaftRemovePeer(ctx context.Context, token, serverID string) error {
	cl, err := c.activeCluster()
	if err != nil {
		return err
	}
	if err := c.requireRoot(ctx, token); err != nil {
		return err
	}
	if serverID == "" {
		return logical.InvalidRequest("server_id", "is required")
	}
	peers, err := cl.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		if p.ID == serverID {
			if err := cl.RemovePeer(ctx, serverID); err != nil {
				return fmt.Errorf("core: remove peer %s: %w", serverID, err)
			}
			c.logger.Info("core: raft peer removed", "node_id", serverID)
			return nil
		}
	}
	return logical.InvalidRequest("server_id", "no raft peer %q", serverID)
}
