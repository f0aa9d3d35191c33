package membership

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Configuration returns the raft configuration.
func (m *Membership) Configuration(ctx context.Context) ([]Peer, error) {
	return m.cluster.Peers(ctx)
}

// RemovePeer removes serverID from the raft configuration (an operator's
// sys/storage/raft/remove-peer).
func (m *Membership) RemovePeer(ctx context.Context, serverID string) error {
	if serverID == "" {
		return logical.InvalidRequest("server_id", "is required")
	}
	peers, err := m.cluster.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		if p.ID == serverID {
			if err := m.removeServer(ctx, serverID); err != nil {
				return err
			}
			m.logger.Info("membership: raft peer removed", "node_id", serverID)
			return nil
		}
	}
	return logical.InvalidRequest("server_id", "no raft peer %q", serverID)
}

// removeServer takes id out of the configuration and forgets its pin.
func (m *Membership) removeServer(ctx context.Context, id string) error {
	if err := m.cluster.RemovePeer(ctx, id); err != nil {
		return fmt.Errorf("membership: remove peer %s: %w", id, err)
	}
	if err := m.barrier.Delete(ctx, pinnedNonVoterPrefix+id); err != nil {
		return fmt.Errorf("membership: forget suffrage of %s: %w", id, err)
	}
	return nil
}

// addJoinedPeer adds a server that answered its join challenge. Every
// server joins as a non-voter (Vault's server stabilization): one that
// asked to vote is promoted by autopilot once it has stayed healthy for
// server_stabilization_time; one that asked not to is pinned so it never
// is.
func (m *Membership) addJoinedPeer(ctx context.Context, id, addr string, nonVoter bool) error {
	key := pinnedNonVoterPrefix + id
	var err error
	if nonVoter {
		err = m.barrier.Put(ctx, &storage.Entry{Key: key, Value: []byte("{}")})
	} else {
		err = m.barrier.Delete(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("membership: record suffrage of %s: %w", id, err)
	}
	return m.cluster.AddPeer(ctx, id, addr, false)
}
