package membership

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestAutopilotConfigValidate(t *testing.T) {
	ok := DefaultAutopilotConfig()
	cleanup := ok
	cleanup.CleanupDeadServers, cleanup.MinQuorum, cleanup.DeadServerLastContactThreshold = true, 2, 10*time.Second
	tests := []struct {
		name  string
		edit  func(*AutopilotConfig)
		field string // "" = valid
	}{
		{"defaults", func(*AutopilotConfig) {}, ""},
		{"cleanup with quorum and threshold", func(c *AutopilotConfig) { *c = cleanup }, ""},
		{"zero last contact", func(c *AutopilotConfig) { c.LastContactThreshold = 0 }, "last_contact_threshold"},
		{"zero dead threshold", func(c *AutopilotConfig) { c.DeadServerLastContactThreshold = 0 }, "dead_server_last_contact_threshold"},
		{"negative stabilization", func(c *AutopilotConfig) { c.ServerStabilizationTime = -time.Second }, "server_stabilization_time"},
		{"dead shorter than unhealthy", func(c *AutopilotConfig) {
			c.LastContactThreshold, c.DeadServerLastContactThreshold = time.Minute, 30*time.Second
		}, "dead_server_last_contact_threshold"},
		{"cleanup without min quorum", func(c *AutopilotConfig) { *c = cleanup; c.MinQuorum = 0 }, "min_quorum"},
		{"cleanup with min quorum 1", func(c *AutopilotConfig) { *c = cleanup; c.MinQuorum = 1 }, "min_quorum"},
		{"cleanup below the dead floor", func(c *AutopilotConfig) {
			*c = cleanup
			c.LastContactThreshold, c.DeadServerLastContactThreshold = time.Second, 9*time.Second
		}, "dead_server_last_contact_threshold"},
		{"short dead threshold without cleanup", func(c *AutopilotConfig) {
			c.LastContactThreshold, c.DeadServerLastContactThreshold = time.Second, 2*time.Second
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultAutopilotConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ir *logical.InvalidRequestError
			if !errors.As(err, &ir) || ir.Field != tc.field {
				t.Fatalf("Validate() = %v, want an invalid request naming %s", err, tc.field)
			}
		})
	}
}

func TestAutopilotConfigUpdateApply(t *testing.T) {
	yes, zeroD, d5, n7, q3 := true, time.Duration(0), 5*time.Second, uint64(7), uint(3)
	zeroN, zeroQ := uint64(0), uint(0)
	c := DefaultAutopilotConfig()
	(&AutopilotConfigUpdate{}).Apply(&c)
	if c != DefaultAutopilotConfig() {
		t.Fatalf("empty update changed the config: %+v", c)
	}
	(&AutopilotConfigUpdate{CleanupDeadServers: &yes, LastContactThreshold: &d5, MaxTrailingLogs: &n7, MinQuorum: &q3}).Apply(&c)
	want := DefaultAutopilotConfig()
	want.CleanupDeadServers, want.LastContactThreshold, want.MaxTrailingLogs, want.MinQuorum = true, d5, 7, 3
	if c != want {
		t.Fatalf("after update %+v, want %+v", c, want)
	}
	// Vault's clients send every field; zeros mean "unchanged".
	(&AutopilotConfigUpdate{LastContactThreshold: &zeroD, ServerStabilizationTime: &zeroD, MaxTrailingLogs: &zeroN, MinQuorum: &zeroQ}).Apply(&c)
	if c != want {
		t.Fatalf("zero fields changed the config: %+v, want %+v", c, want)
	}
}

// apCluster builds an autopilot input: ids[0] is the leader (self); each
// follower is fresh, reported and caught up unless edited.
type apFixture struct {
	ap *engine
	in *apInput
}

func newFixture(cfg AutopilotConfig, voters, nonVoters []string) *apFixture {
	ap := newEngine(voters[0], "1.2.3", cfg, t0)
	in := &apInput{now: t0, stats: ClusterStats{Term: 5, LastIndex: 100, Contacts: map[string]PeerContact{}}, pinned: map[string]bool{}}
	for _, id := range voters {
		in.peers = append(in.peers, Peer{ID: id, Address: id + ":8201", Voter: true, Leader: id == voters[0]})
	}
	for _, id := range nonVoters {
		in.peers = append(in.peers, Peer{ID: id, Address: id + ":8201"})
	}
	f := &apFixture{ap: ap, in: in}
	for _, p := range in.peers[1:] {
		f.alive(p.ID)
	}
	return f
}

// alive makes id look fresh and caught up at the fixture's now.
func (f *apFixture) alive(id string) {
	f.in.stats.Contacts[id] = PeerContact{Term: f.in.stats.Term, Age: 50 * time.Millisecond}
	f.ap.recordEcho(echoReport{NodeID: id, Boot: "b", Seq: uint64(f.in.now.UnixNano()), Term: f.in.stats.Term, LastIndex: 100, Version: "1.2.3"}, 100, f.in.now)
}

// silent makes id look unheard of for d (no acknowledgement, no echo).
func (f *apFixture) silent(id string, d time.Duration) {
	f.in.stats.Contacts[id] = PeerContact{Term: f.in.stats.Term, Age: d}
}

func (f *apFixture) at(d time.Duration) { f.in.now = t0.Add(d) }

func TestAutopilotJudgesFollowers(t *testing.T) {
	cfg := DefaultAutopilotConfig()
	cfg.LastContactThreshold, cfg.DeadServerLastContactThreshold = 2*time.Second, 10*time.Second
	tests := []struct {
		name          string
		edit          func(f *apFixture)
		healthy       bool
		status        string
		contact       time.Duration
		index, term   uint64
		reportVersion string
	}{
		{"fresh and caught up", func(*apFixture) {}, true, AutopilotAlive, 50 * time.Millisecond, 100, 5, "1.2.3"},
		{"no acknowledgement for 3s", func(f *apFixture) { f.silent("b", 3*time.Second) }, false, AutopilotAlive, 3 * time.Second, 100, 5, "1.2.3"},
		{"dead for 11s", func(f *apFixture) { f.silent("b", 11*time.Second) }, false, AutopilotLeft, 11 * time.Second, 100, 5, "1.2.3"},
		{"acknowledged only in an old term", func(f *apFixture) {
			f.in.stats.Contacts["b"] = PeerContact{Term: 4, Age: 10 * time.Millisecond}
			f.ap.echoes["b"] = echoRecord{report: echoReport{NodeID: "b", Term: 4, LastIndex: 100}, received: t0, leaderIndex: 100}
			f.at(time.Second) // contact then counts from the start of this active period
		}, false, AutopilotAlive, time.Second, 100, 4, ""},
		{"never reported", func(f *apFixture) { delete(f.ap.echoes, "b") }, false, AutopilotAlive, 50 * time.Millisecond, 0, 5, ""},
		{"report too old", func(f *apFixture) {
			f.at(3 * time.Second)
			f.in.stats.Contacts["b"] = PeerContact{Term: 5, Age: 10 * time.Millisecond}
		}, false, AutopilotAlive, 10 * time.Millisecond, 100, 5, "1.2.3"},
		{"trailing by more than max_trailing_logs", func(f *apFixture) {
			f.ap.echoes["b"] = echoRecord{report: echoReport{NodeID: "b", Term: 5, LastIndex: 10, Version: "v"}, received: t0, leaderIndex: 1011}
		}, false, AutopilotAlive, 50 * time.Millisecond, 10, 5, "v"},
		{"trailing by exactly max_trailing_logs", func(f *apFixture) {
			f.ap.echoes["b"] = echoRecord{report: echoReport{NodeID: "b", Term: 5, LastIndex: 10, Version: "v"}, received: t0, leaderIndex: 1010}
		}, true, AutopilotAlive, 50 * time.Millisecond, 10, 5, "v"},
		{"no acknowledgement at all since becoming active", func(f *apFixture) {
			delete(f.in.stats.Contacts, "b")
			f.at(12 * time.Second)
		}, false, AutopilotLeft, 12 * time.Second, 100, 5, "1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(cfg, []string{"a", "b", "c"}, nil)
			tc.edit(f)
			st := f.ap.evaluate(f.in)
			s := st.Servers["b"]
			if s.Healthy != tc.healthy || s.NodeStatus != tc.status || s.LastContact != tc.contact ||
				s.LastIndex != tc.index || s.LastTerm != tc.term || s.Version != tc.reportVersion {
				t.Fatalf("server b = %+v;\nwant healthy=%v status=%s contact=%v index=%d term=%d version=%q",
					s, tc.healthy, tc.status, tc.contact, tc.index, tc.term, tc.reportVersion)
			}
			if st.Healthy != tc.healthy {
				t.Fatalf("cluster healthy = %v, want %v", st.Healthy, tc.healthy)
			}
			leader := st.Servers["a"]
			if !leader.Healthy || leader.Status != AutopilotLeader || leader.LastIndex != 100 || leader.LastContact != 0 || leader.Version != "1.2.3" {
				t.Fatalf("leader = %+v", leader)
			}
		})
	}
}

func TestAutopilotFailureTolerance(t *testing.T) {
	tests := []struct {
		name      string
		voters    []string
		nonVoters []string
		down      []string
		want      int
	}{
		{"3 healthy voters", []string{"a", "b", "c"}, nil, nil, 1},
		{"3 voters, 1 down", []string{"a", "b", "c"}, nil, []string{"c"}, 0},
		{"5 voters, 1 down", []string{"a", "b", "c", "d", "e"}, nil, []string{"e"}, 1},
		{"5 voters, 3 down", []string{"a", "b", "c", "d", "e"}, nil, []string{"c", "d", "e"}, 0},
		{"2 voters", []string{"a", "b"}, nil, nil, 0},
		{"1 voter and 2 non-voters", []string{"a"}, []string{"b", "c"}, nil, 0},
		{"3 voters and an unhealthy non-voter", []string{"a", "b", "c"}, []string{"d"}, []string{"d"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(DefaultAutopilotConfig(), tc.voters, tc.nonVoters)
			for _, id := range tc.down {
				f.silent(id, time.Minute)
			}
			st := f.ap.evaluate(f.in)
			if st.FailureTolerance != tc.want || st.Healthy != (len(tc.down) == 0) {
				t.Fatalf("failure tolerance %d healthy %v, want %d %v", st.FailureTolerance, st.Healthy, tc.want, len(tc.down) == 0)
			}
			if !slices.Equal(st.Voters, tc.voters) || len(st.NonVoters) != len(tc.nonVoters) || st.Leader != "a" {
				t.Fatalf("voters %v non-voters %v leader %s", st.Voters, st.NonVoters, st.Leader)
			}
		})
	}
}

func TestAutopilotPlansRemovals(t *testing.T) {
	cleanup := DefaultAutopilotConfig()
	cleanup.CleanupDeadServers, cleanup.MinQuorum, cleanup.DeadServerLastContactThreshold = true, 2, 10*time.Second
	tests := []struct {
		name      string
		cfg       func(*AutopilotConfig)
		voters    []string
		nonVoters []string
		dead      []string
		want      []string
	}{
		{"cleanup off", func(c *AutopilotConfig) { c.CleanupDeadServers = false }, []string{"a", "b", "c"}, nil, []string{"c"}, nil},
		{"one dead of three, min quorum 2", nil, []string{"a", "b", "c"}, nil, []string{"c"}, []string{"c"}},
		{"one dead of three, min quorum 3", func(c *AutopilotConfig) { c.MinQuorum = 3 }, []string{"a", "b", "c"}, nil, []string{"c"}, nil},
		{"one dead of two", nil, []string{"a", "b"}, nil, []string{"b"}, nil},
		{"three dead of five: at most a minority", nil, []string{"a", "b", "c", "d", "e"}, nil, []string{"c", "d", "e"}, []string{"c", "d"}},
		{"dead non-voter goes even at min quorum", func(c *AutopilotConfig) { c.MinQuorum = 3 }, []string{"a", "b", "c"}, []string{"d"}, []string{"d"}, []string{"d"}},
		{"unhealthy but not yet dead", nil, []string{"a", "b", "c"}, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cleanup
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			f := newFixture(cfg, tc.voters, tc.nonVoters)
			f.ap.cfg.ServerStabilizationTime = time.Hour // no promotions here
			f.silent(tc.voters[len(tc.voters)-1], 5*time.Second)
			for _, id := range tc.dead {
				f.silent(id, 11*time.Second)
			}
			remove, promote := f.ap.plan(f.ap.evaluate(f.in), f.in)
			if !slices.Equal(remove, tc.want) || len(promote) != 0 {
				t.Fatalf("plan removes %v promotes %v, want removes %v", remove, promote, tc.want)
			}
		})
	}
}

func TestAutopilotPromotesAfterStabilization(t *testing.T) {
	f := newFixture(DefaultAutopilotConfig(), []string{"a"}, []string{"b", "pinned"})
	f.in.pinned["pinned"] = true
	step := func(d time.Duration) []string {
		t.Helper()
		f.at(d)
		f.alive("b")
		f.alive("pinned")
		_, promote := f.ap.plan(f.ap.evaluate(f.in), f.in)
		return promote
	}
	if p := step(0); len(p) != 0 {
		t.Fatalf("promoted at once: %v", p)
	}
	if p := step(9 * time.Second); len(p) != 0 {
		t.Fatalf("promoted after 9s of 10s stabilization: %v", p)
	}
	// b goes quiet at 9.5s: its stability restarts when it recovers.
	f.at(9500 * time.Millisecond)
	f.silent("b", 11*time.Second)
	f.ap.evaluate(f.in)
	if p := step(10 * time.Second); len(p) != 0 {
		t.Fatalf("promoted right after being unhealthy: %v", p)
	}
	if p := step(19 * time.Second); len(p) != 0 {
		t.Fatalf("promoted 9s after recovering: %v", p)
	}
	if p := step(20 * time.Second); !slices.Equal(p, []string{"b"}) {
		t.Fatalf("promoted %v at 20s (healthy since 10s), want [b] and never the pinned non-voter", p)
	}
	if s := f.ap.evaluate(f.in).Servers["b"]; !s.StableSince.Equal(t0.Add(10 * time.Second)) {
		t.Fatalf("stable_since %v, want %v", s.StableSince, t0.Add(10*time.Second))
	}
}

func TestAutopilotEchoOrdering(t *testing.T) {
	ap := newEngine("a", "v", DefaultAutopilotConfig(), t0)
	ap.recordEcho(echoReport{NodeID: "b", Boot: "x", Seq: 5, LastIndex: 50}, 60, t0)
	ap.recordEcho(echoReport{NodeID: "b", Boot: "x", Seq: 4, LastIndex: 40}, 60, t0.Add(time.Second))
	if e := ap.echoes["b"]; e.report.LastIndex != 50 || !e.received.Equal(t0) {
		t.Fatalf("an older report of the same process replaced a newer one: %+v", e)
	}
	ap.recordEcho(echoReport{NodeID: "b", Boot: "y", Seq: 1, LastIndex: 70}, 80, t0.Add(2*time.Second))
	if e := ap.echoes["b"]; e.report.LastIndex != 70 || e.leaderIndex != 80 {
		t.Fatalf("a restarted process's first report was ignored: %+v", e)
	}
	ap.forget("b")
	if _, ok := ap.echoes["b"]; ok {
		t.Fatal("forget kept the report")
	}
}

// BenchmarkAutopilotEvaluate is the cost of one autopilot judgement of a
// five-server cluster (the loop runs one per second, and one per state
// request).
func BenchmarkAutopilotEvaluate(b *testing.B) {
	f := newFixture(DefaultAutopilotConfig(), []string{"a", "b", "c", "d", "e"}, nil)
	b.ReportAllocs()
	for b.Loop() {
		st := f.ap.evaluate(f.in)
		f.ap.plan(st, f.in)
	}
}
