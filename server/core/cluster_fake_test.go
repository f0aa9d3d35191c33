package core

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/server/membership"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// fakeCluster is a Cluster whose membership and raft view the test sets;
// it records membership changes.
type fakeCluster struct {
	mu       sync.Mutex
	self     string
	leader   bool
	started  bool
	peers    []membership.Peer
	stats    membership.ClusterStats
	observe  []func(bool)
	removed  []string
	promoted []string
}

func (f *fakeCluster) Start(context.Context, *cluster.NodeIdentity, bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = true
	return nil
}
func (f *fakeCluster) Started() bool                    { f.mu.Lock(); defer f.mu.Unlock(); return f.started }
func (f *fakeCluster) NodeID() string                   { return f.self }
func (f *fakeCluster) ClusterAddr() string              { return f.self + ":8201" }
func (f *fakeCluster) IsLeader() bool                   { f.mu.Lock(); defer f.mu.Unlock(); return f.leader }
func (f *fakeCluster) Leader() (string, string)         { return f.self + ":8201", f.self }
func (f *fakeCluster) WaitLeader(context.Context) error { return nil }
func (f *fakeCluster) VerifyRead(context.Context) error { return nil }
func (f *fakeCluster) LinearizableRead(_ context.Context, read func() error) error {
	return read()
}
func (f *fakeCluster) Observe(fn func(bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observe = append(f.observe, fn)
}
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
	f.peers = append(f.peers, membership.Peer{ID: id, Address: addr, Voter: voter})
	return nil
}
func (f *fakeCluster) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = slices.DeleteFunc(f.peers, func(p membership.Peer) bool { return p.ID == id })
	f.removed = append(f.removed, id)
	return nil
}
func (f *fakeCluster) Peers(context.Context) ([]membership.Peer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.peers), nil
}
func (f *fakeCluster) SaveSnapshot(context.Context, io.Writer) error { return errFakeNoSnapshots }
func (f *fakeCluster) RestoreSnapshot(context.Context, io.Reader, bool) error {
	return errFakeNoSnapshots
}

var errFakeNoSnapshots = errors.New("fake cluster: no snapshots")

func (f *fakeCluster) Stats() membership.ClusterStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.stats
	st.Contacts = make(map[string]membership.PeerContact, len(f.stats.Contacts))
	for k, v := range f.stats.Contacts {
		st.Contacts[k] = v
	}
	return st
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// newClusteredCore returns an unsealed, active core leading a fake
// three-server cluster (n1 self, n2 voter, n3 non-voter), and its root
// token.
func newClusteredCore(t *testing.T) (*Core, *fakeCluster, *fakeClock, string) {
	t.Helper()
	ctx := context.Background()
	fc := &fakeCluster{self: "n1", leader: true, stats: membership.ClusterStats{Term: 3, LastIndex: 40, Contacts: map[string]membership.PeerContact{}}}
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, err := New(Config{Physical: inmem.New(), Cluster: fc, Now: clock.Now, APIAddr: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Initialize(ctx, &InitParams{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(res.Keys[0])
	if _, err := c.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	if c.active.Load() == nil {
		t.Fatal("core did not become active")
	}
	if _, err := c.members.Autopilot().State(ctx); err != nil {
		t.Fatalf("active core without a running autopilot: %v", err)
	}
	fc.mu.Lock()
	fc.peers = []membership.Peer{{ID: "n1", Address: "n1:8201", Voter: true, Leader: true}, {ID: "n2", Address: "n2:8201", Voter: true}, {ID: "n3", Address: "n3:8201"}}
	fc.mu.Unlock()
	return c, fc, clock, res.RootToken
}

func TestAutopilotEndpointsNeedRoot(t *testing.T) {
	c, _, _, _ := newClusteredCore(t)
	ctx := context.Background()
	for _, req := range []*logical.Request{
		{Operation: logical.ReadOperation, Path: "sys/storage/raft/autopilot/configuration", ClientToken: "not-a-token"},
		{Operation: logical.UpdateOperation, Path: "sys/storage/raft/autopilot/configuration"},
		{Operation: logical.ReadOperation, Path: "sys/storage/raft/autopilot/state", ClientToken: "not-a-token"},
	} {
		if _, err := c.HandleRequest(ctx, req); !errors.Is(err, logical.ErrPermissionDenied) {
			t.Errorf("%s %s with token %q: %v, want permission denied", req.Operation, req.Path, req.ClientToken, err)
		}
	}
}

// TestAutopilotStopsOnStepDown: the core drives autopilot as an active
// service; a step-down stops it, and the state endpoint answers as a
// standby.
func TestAutopilotStopsOnStepDown(t *testing.T) {
	c, fc, _, root := newClusteredCore(t)
	ctx := context.Background()
	fc.mu.Lock()
	fc.leader = false
	fc.mu.Unlock()
	c.transitionLock.Lock()
	c.reconcileLeadership(ctx)
	c.transitionLock.Unlock()
	if c.active.Load() != nil {
		t.Fatal("standby kept an active state")
	}
	if _, err := c.members.Autopilot().State(ctx); !errors.Is(err, membership.ErrAutopilotNotRunning) {
		t.Fatalf("autopilot still running after step-down: %v", err)
	}
	_, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "sys/storage/raft/autopilot/state", ClientToken: root})
	if !errors.Is(err, ErrStandby) {
		t.Fatalf("state on a standby: %v", err)
	}
}
