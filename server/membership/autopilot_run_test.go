package membership

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// echo delivers member id's report to m as the echo endpoint would.
func echo(t *testing.T, m *Membership, id string, lastIndex uint64) {
	t.Helper()
	if err := m.autopilot.recordEcho(id, &echoReport{NodeID: id, Boot: "b", Seq: uint64(m.now().UnixNano()), Term: 3, LastIndex: lastIndex, Version: "9.9.9"}); err != nil {
		t.Fatal(err)
	}
}

func TestAutopilotConfiguration(t *testing.T) {
	m, _, _, o := newLeaderMembership(t)
	ctx := context.Background()
	r := manualAutopilot(m, DefaultAutopilotConfig())
	ap := m.Autopilot()
	cfg, err := ap.Configuration(ctx)
	if err != nil || *cfg != DefaultAutopilotConfig() {
		t.Fatalf("fresh configuration = %+v, %v", cfg, err)
	}
	yes, short, q := true, 10*time.Second, uint(1)
	err = ap.SetConfiguration(ctx, &AutopilotConfigUpdate{CleanupDeadServers: &yes, DeadServerLastContactThreshold: &short, MinQuorum: &q})
	var ir *logical.InvalidRequestError
	if !errors.As(err, &ir) || ir.Field != "min_quorum" {
		t.Fatalf("cleanup with min_quorum 1: %v", err)
	}
	if got, _ := ap.Configuration(ctx); *got != DefaultAutopilotConfig() {
		t.Fatalf("a rejected update was stored: %+v", got)
	}
	q = 2
	if err := ap.SetConfiguration(ctx, &AutopilotConfigUpdate{CleanupDeadServers: &yes, DeadServerLastContactThreshold: &short, MinQuorum: &q}); err != nil {
		t.Fatal(err)
	}
	want := DefaultAutopilotConfig()
	want.CleanupDeadServers, want.DeadServerLastContactThreshold, want.MinQuorum = true, short, 2
	if got, err := ap.Configuration(ctx); err != nil || *got != want {
		t.Fatalf("after update %+v, %v; want %+v", got, err, want)
	}
	if got := r.eng.config(); got != want {
		t.Fatalf("running autopilot has %+v, want %+v", got, want)
	}
	// Stored behind the barrier: the physical value is ciphertext.
	e, err := o.phys.Get(ctx, autopilotConfigKey)
	if err != nil || e == nil || json.Valid(e.Value) {
		t.Fatalf("stored configuration %v, %v: want barrier ciphertext", e, err)
	}
}

func TestAutopilotTickRemovesAndPromotes(t *testing.T) {
	m, fc, clock, _ := newLeaderMembership(t)
	ctx := context.Background()
	cfg := DefaultAutopilotConfig()
	cfg.CleanupDeadServers, cfg.MinQuorum, cfg.DeadServerLastContactThreshold, cfg.LastContactThreshold = true, 2, 10*time.Second, 2*time.Second
	r := manualAutopilot(m, cfg)
	ap := m.Autopilot()
	// n3 joined as a non-voter that wants to vote; n4 asked to stay one.
	if err := m.addJoinedPeer(ctx, "n4", "n4:8201", true); err != nil {
		t.Fatal(err)
	}
	if err := m.addJoinedPeer(ctx, "n5", "n5:8201", false); err != nil {
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
			echo(t, m, id, 40)
		}
		ap.tick(ctx, r)
		if s < 10 && len(fc.promoted) != 0 {
			t.Fatalf("promoted %v after %ds of 10s stabilization", fc.promoted, s)
		}
		clock.add(time.Second)
	}
	if !slices.Equal(fc.promoted, []string{"n3"}) {
		t.Fatalf("promoted %v, want [n3] (n4 is pinned)", fc.promoted)
	}
	state, err := ap.State(ctx)
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
			echo(t, m, id, 40)
		}
		clock.add(time.Second)
		ap.tick(ctx, r)
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
		echo(t, m, "n3", 40)
		clock.add(time.Second)
		ap.tick(ctx, r)
	}
	if !slices.Equal(fc.removed, []string{"n2", "n4"}) {
		t.Fatalf("removed %v, want [n2 n4]", fc.removed)
	}
	if ids, _ := m.barrier.List(ctx, pinnedNonVoterPrefix); len(ids) != 0 {
		t.Fatalf("pins left after removal: %v", ids)
	}
	// Two voters left with min_quorum 2: n3 dying is never cleaned up.
	for s := 1; s <= 15; s++ {
		fc.setContact("n3", time.Duration(s)*time.Second)
		clock.add(time.Second)
		ap.tick(ctx, r)
	}
	if len(fc.removed) != 2 {
		t.Fatalf("removed %v below min_quorum", fc.removed)
	}
}

// TestAutopilotKeepsOnlyReportsAboutTheSender: a member may report only
// about itself; reports need a running autopilot.
func TestAutopilotKeepsOnlyReportsAboutTheSender(t *testing.T) {
	m, _, _, _ := newLeaderMembership(t)
	ap := m.Autopilot()
	rep := &echoReport{NodeID: "n3", Boot: "b", Seq: 1, Term: 3, LastIndex: 9}
	if err := ap.recordEcho("n3", rep); !errors.Is(err, ErrAutopilotNotRunning) {
		t.Fatalf("report without autopilot: %v", err)
	}
	r := manualAutopilot(m, DefaultAutopilotConfig())
	if err := ap.recordEcho("n2", rep); !errors.Is(err, logical.ErrPermissionDenied) {
		t.Fatalf("n2 reporting about n3: %v, want permission denied", err)
	}
	if _, ok := r.eng.echoes["n3"]; ok {
		t.Fatal("a report about another server was recorded")
	}
	if err := ap.recordEcho("n3", rep); err != nil {
		t.Fatal(err)
	}
	if e := r.eng.echoes["n3"]; e.report.LastIndex != 9 || e.leaderIndex != 40 {
		t.Fatalf("recorded echo %+v, want index 9, leader at 40", e)
	}
}

// TestAutopilotStartStop: Start runs a loop of the active period, Stop
// ends it; without a loop the state is unavailable.
func TestAutopilotStartStop(t *testing.T) {
	m, fc, _, _ := newLeaderMembership(t)
	ap := m.Autopilot()
	if _, err := ap.State(context.Background()); !errors.Is(err, ErrAutopilotNotRunning) {
		t.Fatalf("state before Start: %v", err)
	}
	if err := ap.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := ap.running()
	if r == nil {
		t.Fatal("no loop after Start")
	}
	if _, err := ap.State(context.Background()); err != nil {
		t.Fatal(err)
	}
	ap.Stop()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop still running after Stop")
	}
	if _, err := ap.State(context.Background()); !errors.Is(err, ErrAutopilotNotRunning) {
		t.Fatalf("state after Stop: %v", err)
	}
	// A loop that finds its node no longer leading ends by itself.
	if err := ap.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = ap.running()
	fc.mu.Lock()
	fc.leader = false
	fc.mu.Unlock()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop still running on a follower")
	}
}
