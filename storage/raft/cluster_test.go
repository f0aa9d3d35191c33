package raft_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

// TestClusterReplicationAndMembership runs a 3-node cluster: writes on the
// leader reach every follower's bbolt file, followers refuse writes naming
// the leader, a non-voter replicates without a vote, and a removed node
// leaves the configuration and stops receiving writes.
func TestClusterReplicationAndMembership(t *testing.T) {
	c := newCluster(t, 3, nil)
	ctx := c.ctx()
	li := c.leader()
	leader := c.nodes[li]
	fi := (li + 1) % 3
	follower := c.nodes[fi]

	t.Run("configuration", func(t *testing.T) {
		servers, err := leader.Configuration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		leaders := 0
		for _, srv := range servers {
			ids = append(ids, srv.ID)
			if !srv.Voter {
				t.Errorf("%s is not a voter", srv.ID)
			}
			if srv.Leader {
				leaders++
				if srv.ID != leader.NodeID() {
					t.Errorf("configuration names %s leader, want %s", srv.ID, leader.NodeID())
				}
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"n1", "n2", "n3"}) || leaders != 1 {
			t.Fatalf("configuration = %+v", servers)
		}
	})
	t.Run("writes replicate to followers", func(t *testing.T) {
		var idx uint64
		for i := range 20 {
			idx = c.put(fmt.Sprintf("rep/%02d", i), strconv.Itoa(i))
		}
		for i := range c.nodes {
			c.waitValue(i, idx, "rep/19", "19")
			keys, err := c.nodes[i].List(ctx, "rep/")
			if err != nil || len(keys) != 20 {
				t.Fatalf("node %d: List = %d keys, %v", i, len(keys), err)
			}
		}
		if ci := leader.CommitIndex(); ci < idx {
			t.Fatalf("leader commit index %d < applied %d", ci, idx)
		}
	})
	t.Run("follower refuses writes, naming the leader", func(t *testing.T) {
		err := follower.Put(ctx, &storage.Entry{Key: "nope", Value: []byte("x")})
		if !errors.Is(err, raft.ErrNotLeader) || !strings.Contains(err.Error(), leader.NodeID()) {
			t.Fatalf("follower Put = %v, want ErrNotLeader naming %s", err, leader.NodeID())
		}
		if addr, id := follower.Leader(); id != leader.NodeID() || addr != leader.Addr() {
			t.Fatalf("follower.Leader() = %s %s", addr, id)
		}
		if err := follower.VerifyRead(ctx); !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("follower VerifyRead = %v, want ErrNotLeader", err)
		}
		if err := follower.AddVoter(ctx, "n9", "127.0.0.1:1"); !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("follower AddVoter = %v, want ErrNotLeader", err)
		}
	})
	t.Run("non-voter replicates without a vote", func(t *testing.T) {
		cfg := clusterConfig(t, "n4")
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, nil)
		c.start(3)
		if err := leader.AddNonvoter(ctx, "n4", cfg.BindAddr); err != nil {
			t.Fatal(err)
		}
		idx := c.put("nonvoter/k", "v")
		c.waitValue(3, idx, "nonvoter/k", "v")
		servers, _ := leader.Configuration(ctx)
		i := slices.IndexFunc(servers, func(s raft.Server) bool { return s.ID == "n4" })
		if i < 0 || servers[i].Voter {
			t.Fatalf("n4 in configuration = %+v", servers)
		}
	})
	t.Run("removed node leaves the configuration", func(t *testing.T) {
		ri := (li + 2) % 3
		removed := c.nodes[ri]
		if err := leader.RemoveServer(ctx, removed.NodeID()); err != nil {
			t.Fatal(err)
		}
		idx := c.put("after-remove", "v")
		for i, s := range c.nodes {
			if i == ri {
				continue
			}
			c.waitValue(i, idx, "after-remove", "v")
			servers, err := s.Configuration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(servers, func(srv raft.Server) bool { return srv.ID == removed.NodeID() }) {
				t.Fatalf("node %d still lists %s: %+v", i, removed.NodeID(), servers)
			}
		}
		time.Sleep(300 * time.Millisecond)
		if e, _ := removed.Get(ctx, "after-remove"); e != nil {
			t.Fatal("removed node received a write made after its removal")
		}
	})
}

// TestClusterFailover closes the leader: the survivors elect a new one
// within a few election timeouts, keep every acknowledged write and
// accept new ones; observers hear about the new leadership.
func TestClusterFailover(t *testing.T) {
	c := newCluster(t, 3, nil)
	became := make([]chan bool, 3)
	for i, s := range c.nodes {
		became[i] = make(chan bool, 64)
		s.Observe(func(isLeader bool) { became[i] <- isLeader })
	}
	var idx uint64
	for i := range 10 {
		idx = c.put(fmt.Sprintf("pre/%d", i), "v")
	}
	old := c.leader()
	for i := range c.nodes {
		c.waitValue(i, idx, "pre/9", "v")
	}
	start := time.Now()
	c.stop(old)
	nl := c.leader()
	t.Logf("new leader %s elected %v after the old one closed", c.nodes[nl].NodeID(), time.Since(start))
	if nl == old {
		t.Fatal("closed node still leader")
	}
	idx = c.put("post", "v")
	t.Logf("first write on the new leader acknowledged %v after the old one closed", time.Since(start))
	for i, s := range c.nodes {
		if s == nil {
			continue
		}
		c.waitValue(i, idx, "post", "v")
		keys, err := s.List(c.ctx(), "pre/")
		if err != nil || len(keys) != 10 {
			t.Fatalf("node %d lost writes: %q, %v", i, keys, err)
		}
	}
	if err := c.nodes[nl].VerifyRead(c.ctx()); err != nil {
		t.Fatalf("VerifyRead on the new leader = %v", err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case v := <-became[nl]:
			if v {
				return
			}
		case <-deadline:
			t.Fatal("new leader's observer never told true")
		}
	}
}

// TestClusterSnapshotCatchUp stops a follower, compacts the leader's log
// past everything the follower has, then restarts it: it can only catch
// up by installing a snapshot.
func TestClusterSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, func(cfg *raft.Config) {
		cfg.SnapshotThreshold = 32
		cfg.SnapshotInterval = 50 * time.Millisecond
		cfg.TrailingLogs = 4
		cfg.WALSegmentSize = 4096 // compaction frees whole segments only
	})
	ctx := c.ctx()
	li := c.leader()
	fi := (li + 1) % 3
	idx := c.put("before", "v")
	c.waitValue(fi, idx, "before", "v")
	stoppedAt := c.nodes[fi].AppliedIndex()
	c.stop(fi)

	const n = 150
	for i := range n {
		idx = c.put(fmt.Sprintf("gap/%03d", i), strconv.Itoa(i))
	}
	leader := c.nodes[c.leader()]
	if err := leader.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	snapIdx, _ := strconv.ParseUint(leader.Stats()["last_snapshot_index"], 10, 64)
	if snapIdx <= stoppedAt+4 {
		t.Fatalf("leader snapshot at %d does not compact past the follower's %d", snapIdx, stoppedAt)
	}

	// The restarted follower must not snapshot by itself: a snapshot index
	// it reports then comes from the leader.
	c.cfgs[fi].SnapshotThreshold = 1 << 30
	s := c.start(fi)
	c.waitValue(fi, idx, "gap/149", "149")
	keys, err := s.List(ctx, "gap/")
	if err != nil || len(keys) != n {
		t.Fatalf("restarted follower has %d keys, %v", len(keys), err)
	}
	// raft records the installed snapshot just after the FSM restored it.
	waitFor(t, "the follower to record the installed snapshot", func() bool {
		got, _ := strconv.ParseUint(s.Stats()["last_snapshot_index"], 10, 64)
		return got >= snapIdx
	})
	// And it keeps replicating normally afterwards.
	idx = c.put("after", "v")
	c.waitValue(fi, idx, "after", "v")
}
