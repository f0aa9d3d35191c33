package membership

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage"
)

// leaderWaitTime bounds the wait for a leader after a bootstrap.
const leaderWaitTime = 15 * time.Second

// StartForInit creates the cluster CA and bootstraps a one-node cluster
// with an identity it issues, so that init can write through raft. The
// caller stores the CA with SaveCA once the barrier is unsealed.
func (m *Membership) StartForInit(ctx context.Context) (*cluster.CA, error) {
	ca, err := cluster.NewCA()
	if err != nil {
		return nil, fmt.Errorf("membership: cluster CA: %w", err)
	}
	id, err := ca.IssueIdentityTTL(m.cluster.NodeID(), m.opts.NodeCertTTL)
	if err != nil {
		return nil, fmt.Errorf("membership: cluster identity: %w", err)
	}
	if err := m.cluster.Start(ctx, id, true); err != nil {
		return nil, fmt.Errorf("membership: start cluster: %w", err)
	}
	m.startBackground()
	wctx, cancel := context.WithTimeout(ctx, leaderWaitTime)
	defer cancel()
	if err := m.cluster.WaitLeader(wctx); err != nil {
		return nil, fmt.Errorf("membership: wait for leader: %w", err)
	}
	return ca, nil
}

// SaveCA stores the cluster CA behind the barrier (replicated to every
// node that joins).
func (m *Membership) SaveCA(ctx context.Context, ca *cluster.CA) error {
	raw, err := ca.Marshal()
	if err != nil {
		return fmt.Errorf("membership: encode cluster CA: %w", err)
	}
	if err := m.barrier.Put(ctx, &storage.Entry{Key: caKey, Value: raw}); err != nil {
		return fmt.Errorf("membership: store cluster CA: %w", err)
	}
	return nil
}

// loadCA reads the cluster CA from behind the barrier.
func (m *Membership) loadCA(ctx context.Context) (*cluster.CA, error) {
	e, err := m.barrier.Get(ctx, caKey)
	if err != nil {
		return nil, fmt.Errorf("membership: read cluster CA: %w", err)
	}
	if e == nil {
		return nil, ErrNoCA
	}
	return cluster.UnmarshalCA(e.Value)
}

// StartAfterUnseal brings the network up on a node that was unsealed:
// the CA comes from local (barrier-encrypted) state, and the node issues
// itself an identity with a fresh key. A node whose network already runs
// keeps its identity unless it is due for renewal (it could not renew
// while sealed: its certificate may have expired). The deny-list is loaded
// first, so the port refuses removed nodes from the start.
func (m *Membership) StartAfterUnseal(ctx context.Context) error {
	m.refreshDenyList(ctx)
	if m.cluster.Started() {
		if m.port == nil {
			return nil
		}
		if id := m.port.Identity(); id != nil && !m.renewDue(id) {
			return nil
		}
	}
	ca, err := m.loadCA(ctx)
	if err != nil {
		return err
	}
	id, err := ca.IssueIdentityTTL(m.cluster.NodeID(), m.opts.NodeCertTTL)
	if err != nil {
		return fmt.Errorf("membership: cluster identity: %w", err)
	}
	if err := m.cluster.Start(ctx, id, false); err != nil {
		return fmt.Errorf("membership: start cluster: %w", err)
	}
	m.startBackground()
	return nil
}
