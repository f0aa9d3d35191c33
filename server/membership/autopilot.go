package membership

import (
	"slices"
	"sync"
	"time"
)

// Autopilot (Vault's sys/storage/raft/autopilot) runs on the active node
// only. Every second it judges each server's health, promotes non-voters
// that stayed healthy for ServerStabilizationTime and, with
// CleanupDeadServers, removes servers the leader has not heard from for
// DeadServerLastContactThreshold. A server's health comes from two
// sources:
//
//   - raft itself: when the server last acknowledged this leader's
//     AppendEntries (heartbeats included) and in which term (last_contact,
//     last_term, and whether it is dead);
//   - the server's own report ("echo", echo.go), sent by every
//     standby to the active node every second: its last log index and its
//     version (last_index, how far it trails, version).
//
// Only raft's view decides that a server is dead, so a server whose API is
// unreachable but whose raft traffic flows is never removed; it is merely
// unhealthy, and not promoted. See docs/adr/0007-autopilot.md.

// Autopilot server statuses and node states, in Vault's words.
const (
	AutopilotLeader   = "leader"
	AutopilotVoter    = "voter"
	AutopilotNonVoter = "non-voter"
	AutopilotAlive    = "alive"
	AutopilotLeft     = "left"
)

// AutopilotState is the answer of sys/storage/raft/autopilot/state.
type AutopilotState struct {
	// Healthy is true when every server is healthy.
	Healthy bool
	// FailureTolerance is how many voters may fail without losing quorum:
	// healthy voters minus the quorum of all voters, never below 0.
	FailureTolerance int
	// Leader is the leader's server id.
	Leader string
	// Voters and NonVoters are sorted server ids.
	Voters    []string
	NonVoters []string
	// Servers is keyed by server id.
	Servers map[string]*AutopilotServer
}

// AutopilotServer is one server of an AutopilotState.
type AutopilotServer struct {
	ID      string
	Name    string
	Address string
	// NodeStatus is AutopilotAlive, or AutopilotLeft once the leader has
	// not heard from it for DeadServerLastContactThreshold.
	NodeStatus string
	// LastContact is how long ago it last acknowledged the leader (0 for
	// the leader).
	LastContact time.Duration
	// LastTerm is the raft term of that acknowledgement; LastIndex the
	// last log index it reported (0 before its first report).
	LastTerm  uint64
	LastIndex uint64
	Healthy   bool
	// StableSince is when Healthy last changed (or autopilot first saw
	// the server).
	StableSince time.Time
	// Status is AutopilotLeader, AutopilotVoter or AutopilotNonVoter;
	// NodeType is AutopilotVoter or AutopilotNonVoter.
	Status   string
	NodeType string
	// Version is the server's version as it reported it.
	Version string
}

// echoReport is what a standby tells the active node about itself.
type echoReport struct {
	NodeID string `json:"node_id"`
	// Boot identifies the sending process and Seq orders its reports.
	Boot      string `json:"boot"`
	Seq       uint64 `json:"seq"`
	Term      uint64 `json:"term"`
	LastIndex uint64 `json:"last_index"`
	Version   string `json:"version"`
}

// echoRecord is a received report with what the leader knew then.
type echoRecord struct {
	report      echoReport
	received    time.Time
	leaderIndex uint64 // the leader's last index when it arrived
}

type serverHealth struct {
	healthy bool
	since   time.Time
}

// apInput is one observation of the cluster by the leader.
type apInput struct {
	now   time.Time
	peers []Peer
	stats ClusterStats
	// pinned are the servers that joined as non-voters and stay so.
	pinned map[string]bool
}

// engine is autopilot's judgement of one active period; its methods are
// safe for concurrent use.
type engine struct {
	self    string
	version string
	started time.Time

	mu     sync.Mutex
	cfg    AutopilotConfig
	echoes map[string]echoRecord
	health map[string]serverHealth
}

func newEngine(self, version string, cfg AutopilotConfig, now time.Time) *engine {
	return &engine{
		self: self, version: version, started: now, cfg: cfg,
		echoes: map[string]echoRecord{}, health: map[string]serverHealth{},
	}
}

func (a *engine) config() AutopilotConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

func (a *engine) setConfig(cfg AutopilotConfig) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg = cfg
}

// recordEcho keeps r unless a later report of the same process is held.
func (a *engine) recordEcho(r echoReport, leaderIndex uint64, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.echoes[r.NodeID]; ok && old.report.Boot == r.Boot && old.report.Seq >= r.Seq {
		return
	}
	a.echoes[r.NodeID] = echoRecord{report: r, received: now, leaderIndex: leaderIndex}
}

// forget drops what autopilot knows of a removed server.
func (a *engine) forget(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.echoes, id)
	delete(a.health, id)
}

// evaluate judges every server of in and returns the cluster's state.
func (a *engine) evaluate(in *apInput) *AutopilotState {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := &AutopilotState{Leader: a.self, Servers: make(map[string]*AutopilotServer, len(in.peers))}
	members := make(map[string]bool, len(in.peers))
	healthyVoters := 0
	st.Healthy = true
	for _, p := range in.peers {
		members[p.ID] = true
		s := a.judge(p, in)
		st.Servers[p.ID] = s
		st.Healthy = st.Healthy && s.Healthy
		if p.Voter {
			st.Voters = append(st.Voters, p.ID)
			if s.Healthy {
				healthyVoters++
			}
		} else {
			st.NonVoters = append(st.NonVoters, p.ID)
		}
	}
	slices.Sort(st.Voters)
	slices.Sort(st.NonVoters)
	st.FailureTolerance = max(0, healthyVoters-(len(st.Voters)/2+1))
	for id := range a.health {
		if !members[id] {
			delete(a.health, id)
		}
	}
	for id := range a.echoes {
		if !members[id] {
			delete(a.echoes, id)
		}
	}
	return st
}

// judge computes one server's health; callers hold a.mu.
func (a *engine) judge(p Peer, in *apInput) *AutopilotServer {
	s := &AutopilotServer{ID: p.ID, Name: p.ID, Address: p.Address, NodeStatus: AutopilotAlive, Status: AutopilotNonVoter, NodeType: AutopilotNonVoter}
	if p.Voter {
		s.Status, s.NodeType = AutopilotVoter, AutopilotVoter
	}
	if p.ID == a.self {
		s.Status = AutopilotLeader
		s.LastTerm, s.LastIndex, s.Version, s.Healthy = in.stats.Term, in.stats.LastIndex, a.version, true
	} else {
		a.judgeFollower(s, in)
	}
	h, ok := a.health[p.ID]
	if !ok || h.healthy != s.Healthy {
		h = serverHealth{healthy: s.Healthy, since: in.now}
		a.health[p.ID] = h
	}
	s.StableSince = h.since
	return s
}

// judgeFollower fills in a follower's contact, position and health.
// Without an acknowledgement in the current term, its last contact counts
// from the start of this active period.
func (a *engine) judgeFollower(s *AutopilotServer, in *apInput) {
	cfg := a.cfg
	s.LastContact = in.now.Sub(a.started)
	if c, ok := in.stats.Contacts[s.ID]; ok {
		s.LastTerm = c.Term
		if c.Term == in.stats.Term {
			s.LastContact = c.Age
		}
	}
	if s.LastContact > cfg.DeadServerLastContactThreshold {
		s.NodeStatus = AutopilotLeft
	}
	e, reported := a.echoes[s.ID]
	trailing := uint64(0)
	if reported {
		s.LastIndex, s.Version = e.report.LastIndex, e.report.Version
		s.LastTerm = max(s.LastTerm, e.report.Term)
		if e.leaderIndex > e.report.LastIndex {
			trailing = e.leaderIndex - e.report.LastIndex
		}
	}
	freshReport := reported && in.now.Sub(e.received) <= cfg.LastContactThreshold
	s.Healthy = s.LastContact <= cfg.LastContactThreshold &&
		s.LastTerm == in.stats.Term &&
		freshReport &&
		trailing <= cfg.MaxTrailingLogs
}

// plan decides which dead servers to remove and which non-voters to
// promote, from a state evaluate just returned for in. Dead non-voters
// always go; dead voters only while at least MinQuorum voters remain and
// no more than a minority of the voters is removed.
func (a *engine) plan(st *AutopilotState, in *apInput) (remove, promote []string) {
	cfg := a.config()
	if cfg.CleanupDeadServers {
		for _, id := range st.NonVoters {
			if st.Servers[id].NodeStatus == AutopilotLeft {
				remove = append(remove, id)
			}
		}
		voters := len(st.Voters)
		maxRemoval := (voters - 1) / 2
		for _, id := range st.Voters {
			if id == a.self || st.Servers[id].NodeStatus != AutopilotLeft {
				continue
			}
			if maxRemoval < 1 || uint(voters-1) < cfg.MinQuorum {
				break
			}
			remove = append(remove, id)
			voters--
			maxRemoval--
		}
	}
	for _, id := range st.NonVoters {
		s := st.Servers[id]
		if !in.pinned[id] && s.Healthy && in.now.Sub(s.StableSince) >= cfg.ServerStabilizationTime {
			promote = append(promote, id)
		}
	}
	return remove, promote
}
