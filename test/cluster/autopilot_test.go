package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	vault "github.com/openbao/openbao/api/v2"
)

// WaitVoters waits until the raft configuration, read through node i,
// lists exactly the given number of servers, all voters. Joined nodes
// start as non-voters; autopilot promotes them after
// server_stabilization_time (10 s by default).
func (c *Cluster) WaitVoters(i, voters int, timeout time.Duration) error {
	n, err := c.node(i)
	if err != nil {
		return err
	}
	cl, err := newClient(n, c.RootToken())
	if err != nil {
		return err
	}
	cl.SetClientTimeout(5 * time.Second)
	deadline := time.Now().Add(timeout)
	var last map[string]bool
	for time.Now().Before(deadline) {
		if last, err = raftServers(cl); err == nil && len(last) == voters && !slices.Contains(mapValues(last), false) {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("cluster: want %d voters within %v; configuration %v, last error %v", voters, timeout, last, err)
}

// raftServers reads sys/storage/raft/configuration: server id -> voter.
func raftServers(cl *vault.Client) (map[string]bool, error) {
	s, err := cl.Logical().Read("sys/storage/raft/configuration")
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data["config"] == nil {
		return nil, errors.New("empty raft configuration answer")
	}
	out := map[string]bool{}
	for _, srv := range s.Data["config"].(map[string]any)["servers"].([]any) {
		m := srv.(map[string]any)
		out[m["node_id"].(string)] = m["voter"].(bool)
	}
	return out, nil
}

func mapValues(m map[string]bool) []bool {
	out := make([]bool, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// autopilotState reads the state through node i (a standby forwards it).
func autopilotState(t *testing.T, c *Cluster, i int, token string) *vault.AutopilotState {
	t.Helper()
	st, err := c.Client(i, token).Sys().RaftAutopilotState()
	if err != nil || st == nil {
		t.Fatalf("autopilot state through node%d: %v, %v", i, st, err)
	}
	return st
}

// waitState polls the state through node i until ok accepts it.
func waitState(t *testing.T, c *Cluster, i int, token string, timeout time.Duration, what string, ok func(*vault.AutopilotState) bool) *vault.AutopilotState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st *vault.AutopilotState
	for time.Now().Before(deadline) {
		if s, err := c.Client(i, token).Sys().RaftAutopilotState(); err == nil && s != nil {
			if st = s; ok(s) {
				return s
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("autopilot state never showed %s within %v; last:\n%v", what, timeout, st)
	return nil
}

// TestAutopilotPromotesJoinedNodesAfterStabilization unseals the joining
// nodes one at a time: each enters the configuration as a non-voter and
// becomes a voter only after staying healthy for server_stabilization_time
// (the default 10 s).
func TestAutopilotPromotesJoinedNodesAfterStabilization(t *testing.T) {
	c := Start(t, 3, Options{Shares: 3, Threshold: 2, LogLevel: "info"})
	init, err := c.Client(0, "").Sys().Init(&vault.InitRequest{SecretShares: 3, SecretThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.init = init
	c.mu.Unlock()
	root := init.RootToken
	if err := c.Unseal(0, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		start := time.Now()
		if err := c.Unseal(i, time.Minute); err != nil {
			t.Fatal(err)
		}
		servers, err := raftServers(c.Client(0, root))
		if err != nil {
			t.Fatal(err)
		}
		if voter, ok := servers[nodeID(i)]; !ok || voter {
			t.Fatalf("right after joining, %s is in the configuration %v as a voter or not at all", nodeID(i), servers)
		}
		st := autopilotState(t, c, 0, root)
		if s := st.Servers[nodeID(i)]; s == nil || s.Status != "non-voter" || !slices.Contains(st.NonVoters, nodeID(i)) {
			t.Fatalf("autopilot state of a fresh joiner: %v", st)
		}
		if err := c.WaitVoters(0, i+1, time.Minute); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("%s: joined as non-voter, promoted to voter %v after its unseal began", nodeID(i), took.Round(time.Millisecond))
		if took < 10*time.Second {
			t.Fatalf("%s promoted after %v, before the 10s stabilization time", nodeID(i), took)
		}
	}
	st := waitState(t, c, 2, root, 30*time.Second, "3 healthy voters", func(s *vault.AutopilotState) bool {
		return s.Healthy && s.FailureTolerance == 1 && len(s.Voters) == 3
	})
	for id, s := range st.Servers {
		if s.Version == "" || s.LastIndex == 0 || s.LastTerm == 0 || s.NodeStatus != "alive" {
			t.Fatalf("server %s state incomplete: %+v", id, s)
		}
	}
}

// TestAutopilotConfigurationAndDeadServerCleanup checks the configuration
// API (round trip through standbys, validation, root only, persisted
// across a leader change), then kills a follower: autopilot reports it
// unhealthy after last_contact_threshold and removes it after
// dead_server_last_contact_threshold, within min_quorum.
func TestAutopilotConfigurationAndDeadServerCleanup(t *testing.T) {
	c, root := startKV(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	standby := c.Others(leader)[0]

	cfg, err := c.Client(standby, root).Sys().RaftAutopilotConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CleanupDeadServers || cfg.LastContactThreshold != 10*time.Second || cfg.DeadServerLastContactThreshold != 24*time.Hour ||
		cfg.MaxTrailingLogs != 1000 || cfg.MinQuorum != 0 || cfg.ServerStabilizationTime != 10*time.Second {
		t.Fatalf("default configuration = %+v", cfg)
	}
	checkRejected(t, c, standby, root)

	want := &vault.AutopilotConfig{CleanupDeadServers: true, LastContactThreshold: 3 * time.Second,
		DeadServerLastContactThreshold: 10 * time.Second, MaxTrailingLogs: 1000, MinQuorum: 2, ServerStabilizationTime: 10 * time.Second}
	if err := c.Client(standby, root).Sys().PutRaftAutopilotConfiguration(want); err != nil {
		t.Fatal(err)
	}
	// Persisted behind the barrier: a new active node reads it back.
	if err := c.Stop(leader); err != nil {
		t.Fatal(err)
	}
	newLeader := c.WaitLeader(30 * time.Second)
	got, err := c.Client(newLeader, root).Sys().RaftAutopilotConfiguration()
	if err != nil || *got != *want {
		t.Fatalf("configuration on the new leader = %+v, %v; want %+v", got, err, want)
	}
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	leader = c.WaitLeader(30 * time.Second)
	before := waitState(t, c, leader, root, 30*time.Second, "3 healthy voters", func(s *vault.AutopilotState) bool {
		return s.Healthy && s.FailureTolerance == 1 && len(s.Voters) == 3
	})
	t.Logf("before the kill: %s", describeState(before))

	victim := c.Others(leader)[0]
	vid := nodeID(victim)
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitState(t, c, leader, root, 15*time.Second, vid+" unhealthy", func(s *vault.AutopilotState) bool {
		v := s.Servers[vid]
		return v != nil && !v.Healthy && !s.Healthy && s.FailureTolerance == 0
	})
	unhealthyAfter := time.Since(killed)
	deadline := time.Now().Add(40 * time.Second)
	for {
		servers, err := raftServers(c.Client(leader, root))
		if err == nil {
			if _, ok := servers[vid]; !ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still in the configuration %v 40s after the kill (%v)", vid, servers, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	removedAfter := time.Since(killed)
	t.Logf("kill -9 of %s: unhealthy in autopilot state after %v, removed from the configuration after %v",
		vid, unhealthyAfter.Round(time.Millisecond), removedAfter.Round(time.Millisecond))
	if removedAfter < 9500*time.Millisecond {
		t.Fatalf("%s removed %v after the kill, before the 10s dead-server threshold", vid, removedAfter)
	}
	after := waitState(t, c, leader, root, 15*time.Second, "2 healthy voters", func(s *vault.AutopilotState) bool {
		return s.Healthy && len(s.Voters) == 2 && s.Servers[vid] == nil
	})
	t.Logf("after the removal: %s", describeState(after))
	if after.FailureTolerance != 0 {
		t.Fatalf("two voters report failure tolerance %d", after.FailureTolerance)
	}
	if err := kvPut(c, leader, root, "after-cleanup", "ok", 10*time.Second); err != nil {
		t.Fatalf("write after the dead server's removal: %v", err)
	}
}

// checkRejected posts invalid configurations: each is a 400 naming the
// field, a non-root token gets 403, and nothing changes.
func checkRejected(t *testing.T, c *Cluster, i int, root string) {
	t.Helper()
	cases := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"cleanup_dead_servers": true, "dead_server_last_contact_threshold": "10s"}, "min_quorum"},
		{map[string]any{"cleanup_dead_servers": true, "min_quorum": 2, "dead_server_last_contact_threshold": "5s", "last_contact_threshold": "1s"}, "dead_server_last_contact_threshold"},
		{map[string]any{"last_contact_threshold": "soon"}, "last_contact_threshold"},
		{map[string]any{"server_stabilization_time": "-1s"}, "server_stabilization_time"},
		{map[string]any{"min_quorum": -3}, "min_quorum"},
		{map[string]any{"cleanup_dead_servers": "perhaps"}, "cleanup_dead_servers"},
		{map[string]any{"last_contact_threshold": "1m", "dead_server_last_contact_threshold": "30s"}, "dead_server_last_contact_threshold"},
	}
	cl := c.Client(i, root)
	for _, tc := range cases {
		_, err := cl.Logical().Write("sys/storage/raft/autopilot/configuration", tc.body)
		var re *vault.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || !strings.Contains(strings.Join(re.Errors, " "), tc.field) {
			t.Fatalf("POST %v: %v; want 400 naming %s", tc.body, err, tc.field)
		}
	}
	tok, err := cl.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Client(i, tok.Auth.ClientToken).Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{"min_quorum": 5})
	var re *vault.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("non-root update: %v; want 403", err)
	}
	if _, err := c.Client(i, tok.Auth.ClientToken).Sys().RaftAutopilotState(); !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("non-root read of the autopilot state: %v; want 403", err)
	}
	cfg, err := cl.Sys().RaftAutopilotConfiguration()
	if err != nil || cfg.MinQuorum != 0 || cfg.CleanupDeadServers || cfg.LastContactThreshold != 10*time.Second {
		t.Fatalf("a rejected update changed the configuration: %+v, %v", cfg, err)
	}
}

// describeState renders a state on one line for the test log.
func describeState(s *vault.AutopilotState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "healthy=%v failure_tolerance=%d leader=%s voters=%v non_voters=%v", s.Healthy, s.FailureTolerance, s.Leader, s.Voters, s.NonVoters)
	ids := make([]string, 0, len(s.Servers))
	for id := range s.Servers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := s.Servers[id]
		fmt.Fprintf(&b, " | %s %s healthy=%v %s contact=%s term=%d index=%d", id, v.Status, v.Healthy, v.NodeStatus, v.LastContact, v.LastTerm, v.LastIndex)
	}
	return b.String()
}
