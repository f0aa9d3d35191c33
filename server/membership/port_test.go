package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/cluster"
)

// portCluster is a fakeCluster whose cluster port is real: a
// server/cluster Mux and Dialer on loopback, mutual TLS with the test
// cluster's CA. It has the Port power.
type portCluster struct {
	*fakeCluster
	mux    *cluster.Mux
	dialer *cluster.Dialer
}

var _ Port = (*portCluster)(nil)

func (p *portCluster) Start(ctx context.Context, id *cluster.NodeIdentity, bootstrap bool) error {
	p.mux.SetIdentity(id)
	return p.fakeCluster.Start(ctx, id, bootstrap)
}
func (p *portCluster) Listener(proto string) net.Listener { return p.mux.Listener(proto) }
func (p *portCluster) DialContext(ctx context.Context, addr, proto string) (net.Conn, error) {
	return p.dialer.DialContext(ctx, addr, proto)
}
func (p *portCluster) Identity() *cluster.NodeIdentity { return p.mux.Identity() }
func (p *portCluster) SetPeerCheck(check cluster.PeerCheck) {
	p.mux.SetPeerCheck(check)
	p.dialer.SetPeerCheck(check)
}
func (p *portCluster) addr() string { return p.mux.Addr().String() }

// standbyRole is the Role of a standby that knows the active node.
type standbyRole struct{ active *portCluster }

func (r standbyRole) Standby() (bool, string) { return true, r.active.addr() }

// portNode is one node of a test cluster with real cluster ports.
type portNode struct {
	m    *Membership
	pc   *portCluster
	logs *logBuffer
}

// testCluster is an active node n1 and standbys sharing one barrier (as
// if replicated): members n1..n3 in n1's raft configuration.
type testCluster struct {
	owner  *testOwner
	ca     *cluster.CA
	peers  []Peer
	leader *portNode
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	tc := &testCluster{owner: newTestOwner(t),
		peers: []Peer{{ID: "n1", Address: "n1", Voter: true, Leader: true}, {ID: "n2", Address: "n2", Voter: true}, {ID: "n3", Address: "n3", Voter: true}}}
	var err error
	if tc.ca, err = cluster.NewCA(); err != nil {
		t.Fatal(err)
	}
	tc.leader = tc.node(t, "n1", nil)
	if err := tc.leader.m.SaveCA(context.Background(), tc.ca); err != nil {
		t.Fatal(err)
	}
	tc.start(t, tc.leader)
	manualAutopilot(tc.leader.m, DefaultAutopilotConfig())
	return tc
}

// node builds node id; with active set it is a standby of it.
func (tc *testCluster) node(t *testing.T, id string, active *portNode) *portNode {
	t.Helper()
	mux, err := cluster.Listen("127.0.0.1:0", nil, cluster.ProtoRaft, cluster.ProtoForward, cluster.ProtoMember)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mux.Close() })
	d, err := cluster.NewDialer("127.0.0.1", mux.Identity)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCluster{self: id, leader: active == nil, peers: slices.Clone(tc.peers), stats: ClusterStats{Term: 3, LastIndex: 40, Contacts: map[string]PeerContact{}}}
	pc := &portCluster{fakeCluster: fc, mux: mux, dialer: d}
	var role Role = tc.owner
	if active != nil {
		role = standbyRole{active.pc}
		fc.leaderAddr, fc.leaderID = active.pc.addr(), active.pc.self
	}
	logger, logs := newTestLogger()
	m, err := New(Config{Cluster: pc, Barrier: tc.owner.barrier, Seal: tc.owner, Role: role, Logger: logger, Version: "9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	return &portNode{m: m, pc: pc, logs: logs}
}

// start brings n's network up as an unsealed restarted node does.
func (tc *testCluster) start(t *testing.T, n *portNode) {
	t.Helper()
	if err := n.m.StartAfterUnseal(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// standby starts a standby node id of the leader.
func (tc *testCluster) standby(t *testing.T, id string) *portNode {
	t.Helper()
	n := tc.node(t, id, tc.leader)
	tc.start(t, n)
	return n
}

// TestEchoOverClusterPort: a standby's report reaches the active node's
// autopilot over the cluster port; a holder of a cluster certificate that
// is not in the raft configuration is refused.
func TestEchoOverClusterPort(t *testing.T) {
	tc := newTestCluster(t)
	n2 := tc.standby(t, "n2")
	n2.m.sendEcho()
	if n2.m.echo.failing.Load() {
		t.Fatalf("echo failed:\n%s", n2.logs)
	}
	r := tc.leader.m.autopilot.running()
	if e, ok := r.eng.echoes["n2"]; !ok || e.report.Version != "9.9.9" || e.report.LastIndex != 40 {
		t.Fatalf("leader's record of n2: %+v, %v", e, ok)
	}
	outsider := tc.standby(t, "n7")
	outsider.m.sendEcho()
	if !outsider.m.echo.failing.Load() || !strings.Contains(outsider.logs.String(), "status 403") {
		t.Fatalf("a non-member's echo was not refused:\n%s", outsider.logs)
	}
	if _, ok := r.eng.echoes["n7"]; ok {
		t.Fatal("a non-member's report was recorded")
	}
	// The standby verifies whom it reports to: a server without a
	// certificate of the cluster CA gets nothing.
	foreign, _ := cluster.NewCA()
	fid, _ := foreign.IssueIdentity("n1")
	impostor, err := cluster.Listen("127.0.0.1:0", fid, cluster.ProtoMember)
	if err != nil {
		t.Fatal(err)
	}
	defer impostor.Close()
	got := make(chan struct{}, 1)
	go func() {
		if c, err := impostor.Listener(cluster.ProtoMember).Accept(); err == nil {
			got <- struct{}{}
			c.Close()
		}
	}()
	fooled := tc.node(t, "n3", &portNode{pc: &portCluster{fakeCluster: &fakeCluster{self: "n1"}, mux: impostor}})
	tc.start(t, fooled)
	fooled.m.sendEcho()
	if !fooled.m.echo.failing.Load() || !strings.Contains(fooled.logs.String(), "certificate signed by unknown authority") {
		t.Fatalf("echo to an impostor did not fail on its certificate:\n%s", fooled.logs)
	}
	select {
	case <-got:
		t.Fatal("the impostor received a connection with a completed handshake")
	case <-time.After(100 * time.Millisecond):
	}

	// Without a running autopilot (not the active node) echoes get 503.
	tc.leader.m.autopilot.Stop()
	n2.m.echo.failing.Store(false)
	n2.m.sendEcho()
	if !strings.Contains(n2.logs.String(), "status 503") {
		t.Fatalf("echo to a node without autopilot:\n%s", n2.logs)
	}
}

// TestRenewalFromActiveNode: a standby whose certificate is due gets a
// fresh one for the same key from the active node; the active node renews
// its own from the CA; a non-member gets none.
func TestRenewalFromActiveNode(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	n2 := tc.standby(t, "n2")
	short, err := tc.ca.IssueIdentityTTL("n2", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	n2.pc.mux.SetIdentity(short)
	if err := n2.m.renewIfDue(ctx, n2.pc); err != nil {
		t.Fatal(err)
	}
	got := n2.pc.Identity()
	if got == short || !got.Key().Equal(short.Key()) || got.NodeID() != "n2" {
		t.Fatalf("identity after renewal: %q until %v (renewed: %v); want a new certificate for the same key and id", got.NodeID(), got.NotAfter(), got != short)
	}
	if left := time.Until(got.NotAfter()); left < DefaultOptions().NodeCertTTL-time.Hour {
		t.Fatalf("renewed certificate valid for %v", left)
	}
	if !strings.Contains(n2.logs.String(), "node certificate renewed") || !strings.Contains(n2.logs.String(), "issuer=n1") {
		t.Fatalf("n2's log:\n%s", n2.logs)
	}
	// Not due: nothing happens.
	if err := n2.m.renewIfDue(ctx, n2.pc); err != nil || n2.pc.Identity() != got {
		t.Fatalf("renewal of a fresh certificate: %v", err)
	}
	// The active node renews itself.
	lshort, _ := tc.ca.IssueIdentityTTL("n1", time.Minute)
	tc.leader.pc.mux.SetIdentity(lshort)
	if err := tc.leader.m.renewIfDue(ctx, tc.leader.pc); err != nil {
		t.Fatal(err)
	}
	if id := tc.leader.pc.Identity(); id == lshort || time.Until(id.NotAfter()) < time.Hour {
		t.Fatal("the active node did not renew its own certificate")
	}
	// A node outside the configuration is not renewed.
	outsider := tc.standby(t, "n7")
	oshort, _ := tc.ca.IssueIdentityTTL("n7", time.Minute)
	outsider.pc.mux.SetIdentity(oshort)
	if err := outsider.m.renewIfDue(ctx, outsider.pc); err == nil || !strings.Contains(err.Error(), "status 403") {
		t.Fatalf("renewal of a non-member: %v, want 403", err)
	}
	if outsider.pc.Identity() != oshort {
		t.Fatal("a non-member got a certificate")
	}
}

// TestRemovedNodeIsRefusedAtTheHandshake: remove-peer deny-lists the
// node behind the barrier; every member refuses its connections at the
// TLS handshake (and logs it), however fresh its certificate; it can
// neither be renewed nor join again under its id.
func TestRemovedNodeIsRefusedAtTheHandshake(t *testing.T) {
	tc := newTestCluster(t)
	ctx := context.Background()
	n2 := tc.standby(t, "n2")
	n3 := tc.standby(t, "n3")
	if err := tc.leader.m.RemovePeer(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	e, err := tc.owner.phys.Get(ctx, removedPrefix+"n2")
	if err != nil || e == nil || json.Valid(e.Value) {
		t.Fatalf("stored deny-list entry %v, %v: want barrier ciphertext", e, err)
	}
	var rec removal
	if raw, err := tc.owner.barrier.Get(ctx, removedPrefix+"n2"); err != nil || json.Unmarshal(raw.Value, &rec) != nil || rec.Reason != "remove-peer" {
		t.Fatalf("deny-list entry %+v, %v", rec, err)
	}
	// A brand-new certificate from the CA does not help.
	fresh, err := tc.ca.IssueIdentity("n2")
	if err != nil {
		t.Fatal(err)
	}
	n2.pc.mux.SetIdentity(fresh)
	if err := refusal(ctx, n2, tc.leader); err != nil {
		t.Fatalf("removed node's connection to the leader: %v", err)
	}
	if !strings.Contains(tc.leader.logs.String(), "refused cluster connection from removed node") {
		t.Fatalf("leader's log does not show the refusal:\n%s", tc.leader.logs)
	}
	// Another member learns of it from storage (replicated) and refuses
	// it too, on both ends.
	n3.m.refreshDenyList(ctx) // its loop does so every denyRefreshInterval
	if err := refusal(ctx, n2, n3); err != nil {
		t.Fatalf("removed node's connection to n3: %v", err)
	}
	if _, err := n3.pc.DialContext(ctx, n2.pc.addr(), cluster.ProtoMember); !errors.Is(err, cluster.ErrDenied) {
		t.Fatalf("n3 dialing the removed node: %v, want ErrDenied", err)
	}
	// No renewal, no join under the same id.
	short, _ := tc.ca.IssueIdentityTTL("n2", time.Minute)
	n2.pc.mux.SetIdentity(short)
	if err := n2.m.renewIfDue(ctx, n2.pc); err == nil {
		t.Fatal("a removed node's certificate was renewed")
	}
	if _, err := tc.leader.m.IssueChallenge(ctx, "n2"); !errors.Is(err, ErrRemoved) {
		t.Fatalf("challenge for a removed node id: %v, want ErrRemoved", err)
	}
	// The other members still talk.
	if conn, err := n3.pc.DialContext(ctx, tc.leader.pc.addr(), cluster.ProtoMember); err != nil {
		t.Fatalf("member n3 to the leader: %v", err)
	} else {
		conn.Close()
	}
}

// refusal returns nil if to refuses a cluster connection from from at the
// TLS handshake (with TLS 1.3 the refusal arrives on the first read).
func refusal(ctx context.Context, from, to *portNode) error {
	conn, err := from.pc.DialContext(ctx, to.pc.addr(), cluster.ProtoMember)
	if err == nil {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "bad certificate") {
		return fmt.Errorf("want a TLS refusal, got %v", err)
	}
	return nil
}

// TestRemovalIsWithdrawnWhenRaftRefuses: if raft does not remove the
// server, its deny-list entry is taken back.
func TestRemovalIsWithdrawnWhenRaftRefuses(t *testing.T) {
	m, fc, _, _ := newLeaderMembership(t)
	ctx := context.Background()
	fc.mu.Lock()
	fc.removeErr = errors.New("raft: not the leader")
	fc.mu.Unlock()
	if err := m.RemovePeer(ctx, "n2"); err == nil {
		t.Fatal("RemovePeer succeeded though raft refused")
	}
	if gone, err := m.removed(ctx, "n2"); err != nil || gone || m.denied.Denied("n2") {
		t.Fatalf("n2 deny-listed though still a member: %v, %v", gone, err)
	}
}

// TestCurrentMember: the forwarding trust check accepts only a verified
// peer of the raft configuration.
func TestCurrentMember(t *testing.T) {
	fc := &fakeCluster{self: "n1", peers: []Peer{{ID: "n1"}, {ID: "n2"}}}
	check := CurrentMember(fc)
	ca, _ := cluster.NewCA()
	state := func(id string) *tlsState {
		ident, err := ca.IssueIdentity(id)
		if err != nil {
			t.Fatal(err)
		}
		return verifiedState(ident)
	}
	if !check(context.Background(), state("n2")) {
		t.Fatal("member n2 not trusted")
	}
	if check(context.Background(), state("n9")) || check(context.Background(), nil) || check(context.Background(), &tlsState{}) {
		t.Fatal("a non-member, no TLS or an unverified peer was trusted")
	}
}
