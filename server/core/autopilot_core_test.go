package core

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/cluster"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// fakeCluster is a Cluster whose membership and raft view the test sets;
// it records membership changes.
type fakeCluster struct {
	mu       sync.Mutex
	self     string
	leader   bool
	started  bool
	peers    []Peer
	stats    ClusterStats
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
	f.peers = append(f.peers, Peer{ID: id, Address: addr, Voter: voter})
	return nil
}
func (f *fakeCluster) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
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

// newClusteredCore returns an unsealed, active core leading a fake
// three-server cluster (n1 self, n2 voter, n3 non-voter), and its root
// token. The background autopilot loop is stopped; tests tick by hand.
func newClusteredCore(t *testing.T) (*Core, *fakeCluster, *fakeClock, string) {
	t.Helper()
	ctx := context.Background()
	fc := &fakeCluster{self: "n1", leader: true, stats: ClusterStats{Term: 3, LastIndex: 40, Contacts: map[string]PeerContact{}}}
	clock := &fakeClock{now: t0}
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
	if c.active.Load() == nil || c.autopilot.run.Load() == nil {
		t.Fatal("core did not become active with an autopilot")
	}
	c.transitionLock.Lock()
	c.stopAutopilot()
	c.transitionLock.Unlock()
	fc.mu.Lock()
	fc.peers = []Peer{{ID: "n1", Address: "n1:8201", Voter: true, Leader: true}, {ID: "n2", Address: "n2:8201", Voter: true}, {ID: "n3", Address: "n3:8201"}}
	fc.mu.Unlock()
	return c, fc, clock, res.RootToken
}

// manualAutopilot installs an autopilot that only ticks when told.
func manualAutopilot(c *Core, cfg AutopilotConfig) *autopilot {
	ap := newAutopilot(c.cfg.Cluster.NodeID(), Version, cfg, c.cfg.Now())
	c.autopilot.run.Store(&apRun{ap: ap, cancel: func() {}, done: make(chan struct{})})
	return ap
}

// echo delivers a standby's report to c as the HTTP handler would.
func echo(t *testing.T, c *Core, id string, lastIndex uint64) {
	t.Helper()
	sealed, err := sealEcho(c.barrier, &echoReport{NodeID: id, Boot: "b", Seq: uint64(c.cfg.Now().UnixNano()), Term: 3, LastIndex: lastIndex, Version: "9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RaftAutopilotEcho(context.Background(), id, sealed); err != nil {
		t.Fatal(err)
	}
}

func TestAutopilotConfigurationEndpoints(t *testing.T) {
	c, _, _, _ := newClusteredCore(t)
	ctx := context.Background()
	ap := manualAutopilot(c, DefaultAutopilotConfig())
	cfg, err := c.RaftAutopilotConfiguration(ctx)
	if err != nil || *cfg != DefaultAutopilotConfig() {
		t.Fatalf("fresh configuration = %+v, %v", cfg, err)
	}
	if _, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "sys/storage/raft/autopilot/configuration", ClientToken: "not-a-token"}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("read with a bad token: %v", err)
	}
	yes, short, q := true, 10*time.Second, uint(1)
	err = c.RaftSetAutopilotConfiguration(ctx, &AutopilotConfigUpdate{CleanupDeadServers: &yes, DeadServerLastContactThreshold: &short, MinQuorum: &q})
	var ir *logical.InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "min_quorum" {
		t.Fatalf("cleanup with min_quorum 1: %v", err)
	}
	if got, _ := c.RaftAutopilotConfiguration(ctx); *got != DefaultAutopilotConfig() {
		t.Fatalf("a rejected update was stored: %+v", got)
	}
	q = 2
	if err := c.RaftSetAutopilotConfiguration(ctx, &AutopilotConfigUpdate{CleanupDeadServers: &yes, DeadServerLastContactThreshold: &short, MinQuorum: &q}); err != nil {
		t.Fatal(err)
	}
	want := DefaultAutopilotConfig()
	want.CleanupDeadServers, want.DeadServerLastContactThreshold, want.MinQuorum = true, short, 2
	if got, err := c.RaftAutopilotConfiguration(ctx); err != nil || *got != want {
		t.Fatalf("after update %+v, %v; want %+v", got, err, want)
	}
	if got := ap.config(); got != want {
		t.Fatalf("running autopilot has %+v, want %+v", got, want)
	}
	// Stored behind the barrier: the physical value is ciphertext.
	e, err := c.physical.Get(ctx, autopilotConfigKey)
	if err != nil || e == nil || json.Valid(e.Value) {
		t.Fatalf("stored configuration %v, %v: want barrier ciphertext", e, err)
	}
	if _, err := c.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "sys/storage/raft/autopilot/configuration"}); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("update without a token: %v, want permission denied", err)
	}
}

func TestAutopilotTickRemovesAndPromotes(t *testing.T) {
	c, fc, clock, _ := newClusteredCore(t)
	ctx := context.Background()
	cfg := DefaultAutopilotConfig()
	cfg.CleanupDeadServers, cfg.MinQuorum, cfg.DeadServerLastContactThreshold, cfg.LastContactThreshold = true, 2, 10*time.Second, 2*time.Second
	ap := manualAutopilot(c, cfg)
	st := c.active.Load()
	// n3 joined as a non-voter that wants to vote; n4 asked to stay one.
	if err := c.addJoinedPeer(ctx, fc, "n4", "n4:8201", true); err != nil {
		t.Fatal(err)
	}
	if err := c.addJoinedPeer(ctx, fc, "n5", "n5:8201", false); err != nil {
		t.Fatal(err)
	}
	peers, _ := fc.Peers(ctx)
	if i := slices.IndexFunc(peers, func(p Peer) bool { return p.ID == "n5" }); i < 0 || peers[i].Voter {
		t.Fatalf("a server joining as voter was not added as a non-voter first: %+v", peers)
	}
	fc.mu.Lock()
	fc.peers = slices.DeleteFunc(fc.peers, func(p Peer) bool { return p.ID == "n5" })
	fc.mu.Unlock()
	for s := 0; s <= 10; s++ {
		for _, id := range []string{"n2", "n3", "n4"} {
			fc.setContact(id, 20*time.Millisecond)
			echo(t, c, id, 40)
		}
		c.autopilotTick(ctx, ap, st)
		if s < 10 && len(fc.promoted) != 0 {
			t.Fatalf("promoted %v after %ds of 10s stabilization", fc.promoted, s)
		}
		clock.add(time.Second)
	}
	if !slices.Equal(fc.promoted, []string{"n3"}) {
		t.Fatalf("promoted %v, want [n3] (n4 is pinned)", fc.promoted)
	}
	state, err := c.RaftAutopilotState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !state.Healthy || state.FailureTolerance != 1 || !slices.Equal(state.Voters, []string{"n1", "n2", "n3"}) ||
		!slices.Equal(state.NonVoters, []string{"n4"}) || state.Servers["n2"].Version != "9.9.9" || state.Servers["n2"].LastIndex != 40 {
		t.Fatalf("state = %+v (n2 %+v)", state, state.Servers["n2"])
	}
	// n2 dies: unhealthy after 2s, removed after 10s.
	for s := 1; s <= 11; s++ {
		fc.setContact("n2", time.Duration(s)*time.Second)
		for _, id := range []string{"n3", "n4"} {
			fc.setContact(id, 20*time.Millisecond)
			echo(t, c, id, 40)
		}
		clock.add(time.Second)
		c.autopilotTick(ctx, ap, st)
		if s <= 10 && len(fc.removed) != 0 {
			t.Fatalf("removed %v after %ds of a 10s threshold", fc.removed, s)
		}
	}
	if !slices.Equal(fc.removed, []string{"n2"}) {
		t.Fatalf("removed %v, want [n2]", fc.removed)
	}
	// A dead pinned non-voter goes too, and its pin with it.
	for s := 1; s <= 11; s++ {
		fc.setContact("n4", time.Duration(s)*time.Second)
		fc.setContact("n3", 20*time.Millisecond)
		echo(t, c, "n3", 40)
		clock.add(time.Second)
		c.autopilotTick(ctx, ap, st)
	}
	if !slices.Equal(fc.removed, []string{"n2", "n4"}) {
		t.Fatalf("removed %v, want [n2 n4]", fc.removed)
	}
	if ids, _ := c.barrier.List(ctx, pinnedNonVoterPrefix); len(ids) != 0 {
		t.Fatalf("pins left after removal: %v", ids)
	}
	// Two voters left with min_quorum 2: n3 dying is never cleaned up.
	for s := 1; s <= 15; s++ {
		fc.setContact("n3", time.Duration(s)*time.Second)
		clock.add(time.Second)
		c.autopilotTick(ctx, ap, st)
	}
	if len(fc.removed) != 2 {
		t.Fatalf("removed %v below min_quorum", fc.removed)
	}
}

func TestAutopilotEchoAuthentication(t *testing.T) {
	c, _, _, _ := newClusteredCore(t)
	ctx := context.Background()
	manualAutopilot(c, DefaultAutopilotConfig())
	good, err := sealEcho(c.barrier, &echoReport{NodeID: "n2", Boot: "b", Seq: 1, Term: 3, LastIndex: 7})
	if err != nil {
		t.Fatal(err)
	}
	other := barrier.New(inmem.New())
	otherKey, _ := other.GenerateKey()
	if err := other.Initialize(ctx, otherKey); err != nil {
		t.Fatal(err)
	}
	if err := other.Unseal(ctx, otherKey); err != nil {
		t.Fatal(err)
	}
	foreign, err := sealEcho(other, &echoReport{NodeID: "n2", Boot: "b", Seq: 2, Term: 3, LastIndex: 9})
	if err != nil {
		t.Fatal(err)
	}
	tampered := slices.Clone(good)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		id     string
		sealed []byte
		want   error
	}{
		{"another cluster's keys", "n2", foreign, logical.ErrPermissionDenied},
		{"sealed for another node", "n3", good, logical.ErrPermissionDenied},
		{"tampered", "n2", tampered, logical.ErrPermissionDenied},
		{"no node id", "", good, logical.ErrInvalidRequest},
		{"genuine", "n2", good, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.RaftAutopilotEcho(ctx, tc.id, tc.sealed)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("RaftAutopilotEcho = %v, want %v", err, tc.want)
			}
		})
	}
	r := c.autopilot.run.Load()
	if e := r.ap.echoes["n2"]; e.report.LastIndex != 7 || e.leaderIndex != 40 {
		t.Fatalf("recorded echo %+v, want the genuine report (index 7, leader at 40)", e)
	}
}

func TestAutopilotStopsOnStepDown(t *testing.T) {
	c, fc, _, _ := newClusteredCore(t)
	st := c.active.Load()
	c.transitionLock.Lock()
	c.startAutopilot(context.Background(), st)
	r := c.autopilot.run.Load()
	fc.mu.Lock()
	fc.leader = false
	fc.mu.Unlock()
	c.reconcileLeadership(context.Background())
	c.transitionLock.Unlock()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("autopilot loop still running after step-down")
	}
	if c.autopilot.run.Load() != nil || c.active.Load() != nil {
		t.Fatal("standby kept an autopilot or an active state")
	}
	if _, err := c.RaftAutopilotState(context.Background()); !errors.Is(err, ErrStandby) {
		t.Fatalf("state on a standby: %v", err)
	}
}
