package membership

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// Cluster is the replication layer of a clustered node: raft plus the
// mutual-TLS cluster port. vaultd wires the implementation (RaftCluster);
// the core decides when the network starts (after init, unseal or join,
// because the cluster CA lives behind the barrier) and reacts to
// leadership changes. Every method must be safe for concurrent use.
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

// Port is the optional power of a Cluster whose cluster port can carry
// this package's own service (ALPN cluster.ProtoMember) and be guarded by
// a PeerCheck; RaftCluster has it, found by a type assertion. Without it
// there is no certificate renewal, no autopilot echo and no deny-list
// enforcement (the core's unit tests run so, over a fake Cluster).
type Port interface {
	// Listener returns the listener of cluster-port connections that
	// negotiated proto, their mutual-TLS handshake complete.
	Listener(proto string) net.Listener
	// DialContext opens a mutual-TLS connection to the cluster port at
	// addr negotiating proto, with the current identity.
	DialContext(ctx context.Context, addr, proto string) (net.Conn, error)
	// Identity returns the node identity the port serves and dials with
	// (nil before Start).
	Identity() *cluster.NodeIdentity
	// SetPeerCheck installs check on both ends of every cluster handshake.
	SetPeerCheck(check cluster.PeerCheck)
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
