package membership

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/secretumvault/secretumvault/server/cluster"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// RaftCluster is the Cluster of a vaultd node: the raft store plus the
// mutual-TLS cluster port (one listener, ALPN-multiplexed). It has the
// Port power.
type RaftCluster struct {
	store     *raftstore.Store
	mux       *cluster.Mux
	dialer    *cluster.Dialer
	advertise string

	mu sync.Mutex
}

var (
	_ Cluster = (*RaftCluster)(nil)
	_ Port    = (*RaftCluster)(nil)
)

// NewRaftCluster wires store to the cluster port mux. advertise is the
// cluster address peers dial (cluster_addr); dialer dials peers from this
// node's cluster IP with the mux's identity.
func NewRaftCluster(store *raftstore.Store, mux *cluster.Mux, dialer *cluster.Dialer, advertise string) *RaftCluster {
	return &RaftCluster{store: store, mux: mux, dialer: dialer, advertise: advertise}
}

// Start implements Cluster.
func (r *RaftCluster) Start(ctx context.Context, id *cluster.NodeIdentity, bootstrap bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mux.SetIdentity(id)
	if !r.store.Started() {
		adv, err := net.ResolveTCPAddr("tcp", r.advertise)
		if err != nil {
			return fmt.Errorf("membership: cluster address %q: %w", r.advertise, err)
		}
		sl := cluster.NewStreamLayer(r.mux.Listener(cluster.ProtoRaft), r.dialer, cluster.ProtoRaft, adv)
		if err := r.store.Start(ctx, sl); err != nil {
			return err
		}
	}
	if bootstrap {
		return r.store.Bootstrap(ctx)
	}
	return nil
}

// Started implements Cluster.
func (r *RaftCluster) Started() bool { return r.store.Started() }

// NodeID implements Cluster.
func (r *RaftCluster) NodeID() string { return r.store.NodeID() }

// ClusterAddr implements Cluster.
func (r *RaftCluster) ClusterAddr() string { return r.advertise }

// IsLeader implements Cluster.
func (r *RaftCluster) IsLeader() bool { return r.store.IsLeader() }

// Leader implements Cluster.
func (r *RaftCluster) Leader() (string, string) { return r.store.Leader() }

// WaitLeader implements Cluster.
func (r *RaftCluster) WaitLeader(ctx context.Context) error { return r.store.WaitLeader(ctx) }

// LinearizableRead implements Cluster.
func (r *RaftCluster) LinearizableRead(ctx context.Context, read func() error) error {
	return r.store.LinearizableRead(ctx, read)
}

// Observe implements Cluster.
func (r *RaftCluster) Observe(fn func(bool)) { r.store.Observe(fn) }

// TransferLeadership implements Cluster.
func (r *RaftCluster) TransferLeadership() error {
	return r.store.TransferLeadership(context.Background())
}

// AddPeer implements Cluster.
func (r *RaftCluster) AddPeer(ctx context.Context, id, addr string, voter bool) error {
	if voter {
		return r.store.AddVoter(ctx, id, addr)
	}
	return r.store.AddNonvoter(ctx, id, addr)
}

// RemovePeer implements Cluster.
func (r *RaftCluster) RemovePeer(ctx context.Context, id string) error {
	return r.store.RemoveServer(ctx, id)
}

// Peers implements Cluster.
func (r *RaftCluster) Peers(ctx context.Context) ([]Peer, error) {
	servers, err := r.store.Configuration(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Peer, len(servers))
	for i, s := range servers {
		out[i] = Peer{ID: s.ID, Address: s.Address, Leader: s.Leader, Voter: s.Voter}
	}
	return out, nil
}

// SaveSnapshot implements Cluster.
func (r *RaftCluster) SaveSnapshot(ctx context.Context, w io.Writer) error {
	return r.store.SaveSnapshot(ctx, w)
}

// RestoreSnapshot implements Cluster.
func (r *RaftCluster) RestoreSnapshot(ctx context.Context, rd io.Reader, force bool) error {
	return r.store.RestoreSnapshot(ctx, rd, force)
}

// Stats implements Cluster.
func (r *RaftCluster) Stats() ClusterStats {
	pc := r.store.PeerContacts()
	contacts := make(map[string]PeerContact, len(pc))
	for id, c := range pc {
		contacts[id] = PeerContact{Term: c.Term, Age: c.Age}
	}
	return ClusterStats{Term: r.store.CurrentTerm(), LastIndex: r.store.LastIndex(), Contacts: contacts}
}

// Listener implements Port.
func (r *RaftCluster) Listener(proto string) net.Listener { return r.mux.Listener(proto) }

// DialContext implements Port.
func (r *RaftCluster) DialContext(ctx context.Context, addr, proto string) (net.Conn, error) {
	return r.dialer.DialContext(ctx, addr, proto)
}

// Identity implements Port.
func (r *RaftCluster) Identity() *cluster.NodeIdentity { return r.mux.Identity() }

// SetPeerCheck implements Port: the check guards the mux (inbound) and the
// dialer (outbound).
func (r *RaftCluster) SetPeerCheck(check cluster.PeerCheck) {
	r.mux.SetPeerCheck(check)
	r.dialer.SetPeerCheck(check)
}
