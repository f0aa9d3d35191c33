package membership

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// fakeCluster is a Cluster whose membership and raft view the test sets;
// it records membership changes. It has no Port power.
type fakeCluster struct {
	mu     sync.Mutex
	self   string
	leader bool
	// leaderAddr and leaderID are what Leader reports when set (else
	// this node).
	leaderAddr, leaderID string
	started              bool
	peers                []Peer
	stats                ClusterStats
	removed              []string
	promoted             []string
	identity             *cluster.NodeIdentity
	// removeErr, if set, is what RemovePeer fails with.
	removeErr error
}

func (f *fakeCluster) Start(_ context.Context, id *cluster.NodeIdentity, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started, f.identity = true, id
	return nil
}
func (f *fakeCluster) Started() bool       { f.mu.Lock(); defer f.mu.Unlock(); return f.started }
func (f *fakeCluster) NodeID() string      { return f.self }
func (f *fakeCluster) ClusterAddr() string { return f.self + ":8201" }
func (f *fakeCluster) IsLeader() bool      { f.mu.Lock(); defer f.mu.Unlock(); return f.leader }
func (f *fakeCluster) Leader() (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leaderID != "" {
		return f.leaderAddr, f.leaderID
	}
	return f.self + ":8201", f.self
}
func (f *fakeCluster) WaitLeader(context.Context) error { return nil }
func (f *fakeCluster) LinearizableRead(_ context.Context, read func() error) error {
	return read()
}
func (f *fakeCluster) Observe(func(bool))        {}
func (f *fakeCluster) TransferLeadership() error { return errors.New("fake: no transfer") }
func (f *fakeCluster) AddPeer(_ context.Context, id, addr string, voter bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.peers {
		if p.ID == id {
			if voter && !p.Voter {
				f.peers[i].Voter = true
				f.promoted = append(f.promoted, id)
			}
			return nil
		}
	}
	f.peers = append(f.peers, Peer{ID: id, Address: addr, Voter: voter})
	return nil
}
func (f *fakeCluster) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.removeErr != nil {
		return f.removeErr
	}
	f.peers = slices.DeleteFunc(f.peers, func(p Peer) bool { return p.ID == id })
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeCluster) Peers(context.Context) ([]Peer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers), nil
}
func (f *fakeCluster) SaveSnapshot(context.Context, io.Writer) error { return errFakeNoSnapshots }
func (f *fakeCluster) RestoreSnapshot(context.Context, io.Reader, bool) error {
	return errFakeNoSnapshots
}

var errFakeNoSnapshots = errors.New("fake cluster: no snapshots")

func (f *fakeCluster) Stats() ClusterStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	st.Contacts = make(map[string]PeerContact, len(f.stats.Contacts))
	for k, v := range f.stats.Contacts {
		st.Contacts[k] = v
	}
	return st
}

func (f *fakeCluster) setContact(id string, age time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Contacts[id] = PeerContact{Term: f.stats.Term, Age: age}
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testOwner is the core's side of a Membership under test: a real
// barrier over inmem storage, initialized and unsealed, with a Shamir
// seal configuration.
type testOwner struct {
	phys    *inmem.Backend
	barrier *barrier.AESGCMBarrier
	shamir  *seal.Shamir
	rootKey []byte
	standby bool
}

func newTestOwner(t testing.TB) *testOwner {
	t.Helper()
	ctx := context.Background()
	phys := inmem.New()
	o := &testOwner{phys: phys, barrier: barrier.New(phys), shamir: seal.New(phys)}
	rootKey, _, err := o.shamir.Init(ctx, seal.Config{Type: "shamir", SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.barrier.Initialize(ctx, rootKey); err != nil {
		t.Fatal(err)
	}
	if err := o.barrier.Unseal(ctx, rootKey); err != nil {
		t.Fatal(err)
	}
	o.rootKey = rootKey
	return o
}

func (o *testOwner) SealConfig(ctx context.Context) (*seal.Config, error) {
	return o.shamir.Config(ctx)
}
func (o *testOwner) StoredKeyring(ctx context.Context) ([]byte, error) {
	e, err := o.phys.Get(ctx, barrier.KeyringPath)
	if err != nil || e == nil {
		return nil, err
	}
	return e.Value, nil
}
func (o *testOwner) StaticSealBlob(context.Context) ([]byte, error) { return nil, nil }
func (o *testOwner) WrappedRootKey(context.Context) ([]byte, error) { return nil, nil }
func (o *testOwner) Standby() (bool, string)                        { return o.standby, "" }

// newLeaderMembership returns the membership of the active node n1 of a
// fake three-server cluster (n1 self, n2 voter, n3 non-voter) with its
// CA stored, and its clock. Autopilot is not running: tests that need it
// install a manual engine.
func newLeaderMembership(t *testing.T) (*Membership, *fakeCluster, *fakeClock, *testOwner) {
	t.Helper()
	return newLeaderMembershipOpts(t, Options{}, nil)
}

// newLeaderMembershipOpts is newLeaderMembership with options and a logger.
func newLeaderMembershipOpts(t *testing.T, opts Options, logger *slog.Logger) (*Membership, *fakeCluster, *fakeClock, *testOwner) {
	t.Helper()
	fc := &fakeCluster{self: "n1", leader: true, stats: ClusterStats{Term: 3, LastIndex: 40, Contacts: map[string]PeerContact{}},
		peers: []Peer{{ID: "n1", Address: "n1:8201", Voter: true, Leader: true}, {ID: "n2", Address: "n2:8201", Voter: true}, {ID: "n3", Address: "n3:8201"}}}
	clock := &fakeClock{now: t0}
	o := newTestOwner(t)
	m, err := New(Config{Cluster: fc, Barrier: o.barrier, Seal: o, Role: o, Now: clock.Now, Version: "1.0.0", Options: opts, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cluster.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SaveCA(context.Background(), ca); err != nil {
		t.Fatal(err)
	}
	return m, fc, clock, o
}

// manualAutopilot installs an autopilot run that only ticks when told.
func manualAutopilot(m *Membership, cfg AutopilotConfig) *apRun {
	ctx, cancel := context.WithCancel(context.Background())
	r := &apRun{eng: newEngine(m.cluster.NodeID(), m.version, cfg, m.now()), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	m.autopilot.run.Store(r)
	return r
}

// logBuffer is a goroutine-safe log sink for tests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newTestLogger returns a debug-level logger writing to the returned
// buffer.
func newTestLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// tlsState is a TLS connection state.
type tlsState = tls.ConnectionState

// verifiedState is the state of a connection whose peer presented id's
// verified certificate.
func verifiedState(id *cluster.NodeIdentity) *tlsState {
	return &tlsState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{id.Cert.Leaf},
		VerifiedChains: [][]*x509.Certificate{{id.Cert.Leaf}}}
}
