package membership

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
)

// CurrentMember returns a check, for server/api's
// Options.ForwardPeerTrusted, of whether the verified cluster-port peer of
// a connection is a server of cl's raft configuration (and so may speak
// for its clients: their addresses and request ids). The deny-list has
// already refused removed nodes at the handshake; this check also refuses
// a holder of a cluster certificate that is not, or no longer, a member.
//
// The check runs on every forwarded request, so it reads the
// configuration at most once per memberCacheTTL (a raft round trip per
// request would cost the active node dearly); a removal is seen within
// that time, and the removed node is refused at its next handshake anyway.
func CurrentMember(cl Cluster) func(ctx context.Context, peer *tls.ConnectionState) bool {
	var cache memberCache
	return func(ctx context.Context, peer *tls.ConnectionState) bool {
		if peer == nil {
			return false
		}
		id := cluster.PeerNodeID(*peer)
		if id == "" {
			return false
		}
		ids, err := cache.members(ctx, cl)
		return err == nil && slices.Contains(ids, id)
	}
}

// memberCacheTTL bounds how stale CurrentMember's view may be.
const memberCacheTTL = time.Second

// memberCache holds the ids of the raft configuration, refreshed after
// memberCacheTTL.
type memberCache struct {
	mu      sync.Mutex
	ids     []string
	fetched time.Time
}

func (m *memberCache) members(ctx context.Context, cl Cluster) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids != nil && time.Since(m.fetched) < memberCacheTTL {
		return m.ids, nil
	}
	peers, err := cl.Peers(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(peers))
	for i, p := range peers {
		ids[i] = p.ID
	}
	m.ids, m.fetched = ids, time.Now()
	return ids, nil
}

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
			if err := m.removeServer(ctx, serverID, "remove-peer"); err != nil {
				return err
			}
			m.logger.Info("membership: raft peer removed", "node_id", serverID)
			return nil
		}
	}
	return logical.InvalidRequest("server_id", "no raft peer %q", serverID)
}

// removeServer takes id out of the configuration for good: its node id
// goes on the deny-list first (so that from the moment it is no longer a
// member, no member accepts its connections), then raft removes it and its
// pin is forgotten. If raft refuses, the deny-list entry is withdrawn.
func (m *Membership) removeServer(ctx context.Context, id, reason string) error {
	if err := m.denyNode(ctx, id, reason); err != nil {
		return err
	}
	if err := m.cluster.RemovePeer(ctx, id); err != nil {
		if derr := m.barrier.Delete(ctx, removedPrefix+id); derr != nil {
			m.logger.Error("membership: could not withdraw the deny-list entry of a server that was not removed", "node_id", id, "error", derr)
		}
		m.refreshDenyList(ctx)
		return fmt.Errorf("membership: remove peer %s: %w", id, err)
	}
	if err := m.barrier.Delete(ctx, pinnedNonVoterPrefix+id); err != nil {
		return fmt.Errorf("membership: forget suffrage of %s: %w", id, err)
	}
	return nil
}

// removal is the deny-list entry of a removed server, behind the barrier
// at removedPrefix + node id.
type removal struct {
	NodeID    string    `json:"node_id"`
	RemovedAt time.Time `json:"removed_at"`
	Reason    string    `json:"reason"`
}

// denyNode records id on the deny-list (replicated) and in this node's
// copy of it at once.
func (m *Membership) denyNode(ctx context.Context, id, reason string) error {
	raw, err := json.Marshal(removal{NodeID: id, RemovedAt: m.now().UTC(), Reason: reason})
	if err != nil {
		return fmt.Errorf("membership: encode removal of %s: %w", id, err)
	}
	if err := m.barrier.Put(ctx, &storage.Entry{Key: removedPrefix + id, Value: raw}); err != nil {
		return fmt.Errorf("membership: deny-list %s: %w", id, err)
	}
	m.denied.Deny(id)
	return nil
}

// removed reports whether id is on the stored deny-list.
func (m *Membership) removed(ctx context.Context, id string) (bool, error) {
	e, err := m.barrier.Get(ctx, removedPrefix+id)
	if err != nil {
		return false, fmt.Errorf("membership: read deny-list: %w", err)
	}
	return e != nil, nil
}

// refreshDenyList loads the stored deny-list into the copy the cluster
// port consults. While the barrier is sealed the copy is kept as it is.
func (m *Membership) refreshDenyList(ctx context.Context) {
	ids, err := m.barrier.List(ctx, removedPrefix)
	if err != nil {
		return
	}
	m.denied.Replace(ids)
}

// denyRefreshInterval is how often every node reloads the deny-list: a
// standby learns of a removal made on the active node within it.
const denyRefreshInterval = 2 * time.Second

// startDenyRefresh starts the reload loop (from startBackground).
func (m *Membership) startDenyRefresh() {
	go func() {
		t := time.NewTicker(denyRefreshInterval)
		defer t.Stop()
		for range t.C {
			ctx, cancel := context.WithTimeout(context.Background(), portTimeout)
			m.refreshDenyList(ctx)
			cancel()
		}
	}()
}

// refusalLogEvery rate-limits the log line of refused connections, per
// node id.
const refusalLogEvery = 10 * time.Second

// checkPeer is the cluster port's PeerCheck: it refuses removed nodes and
// logs the refusal (at most once per refusalLogEvery and node).
func (m *Membership) checkPeer(peer *x509.Certificate) error {
	err := m.denied.Check(peer)
	if err == nil {
		return nil
	}
	id := peer.Subject.CommonName
	now := time.Now()
	m.refusalsMu.Lock()
	logIt := now.Sub(m.refusals[id]) >= refusalLogEvery // refused ids only: as many as the deny-list
	if logIt {
		m.refusals[id] = now
	}
	m.refusalsMu.Unlock()
	if logIt {
		m.logger.Warn("membership: refused cluster connection from removed node", "node_id", id, "serial", peer.SerialNumber.Text(16))
	}
	return err
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
