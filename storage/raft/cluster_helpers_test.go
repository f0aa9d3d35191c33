package raft_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

// cluster is an in-process raft cluster: each node a Store on its own
// 127.0.0.1 port and data directory, talking plain TCP.
type cluster struct {
	tb    testing.TB
	cfgs  []raft.Config
	nodes []*raft.Store // nil while a node is stopped
}

// clusterConfig returns a node config with timeouts that stay stable on a
// loaded 2-core machine under -race.
func clusterConfig(tb testing.TB, id string) raft.Config {
	cfg := testConfig(tb.TempDir())
	cfg.NodeID = id
	cfg.BindAddr = freeAddr(tb)
	cfg.HeartbeatTimeout = 200 * time.Millisecond
	cfg.ElectionTimeout = 200 * time.Millisecond
	cfg.LeaderLeaseTimeout = 100 * time.Millisecond
	return cfg
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago; a node keeps it across restarts.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newCluster starts n nodes: node 0 bootstraps, the others join as
// voters. edit, if set, adjusts each config first.
func newCluster(tb testing.TB, n int, edit func(*raft.Config)) *cluster {
	tb.Helper()
	c := &cluster{tb: tb}
	for i := range n {
		cfg := clusterConfig(tb, fmt.Sprintf("n%d", i+1))
		if edit != nil {
			edit(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, nil)
		c.start(i)
	}
	tb.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	ctx := c.ctx()
	if err := c.nodes[0].Bootstrap(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := c.nodes[0].WaitLeader(ctx); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := c.nodes[0].AddVoter(ctx, c.cfgs[i].NodeID, c.cfgs[i].BindAddr); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		if err := c.nodes[i].WaitLeader(ctx); err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
	}
	return c
}

func (c *cluster) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c.tb.Cleanup(cancel)
	return ctx
}

// start opens and starts node i (again).
func (c *cluster) start(i int) *raft.Store {
	c.tb.Helper()
	ctx := c.ctx()
	s, err := raft.New(ctx, c.cfgs[i])
	if err != nil {
		c.tb.Fatalf("node %d: New: %v", i, err)
	}
	if err := s.Start(ctx, nil); err != nil {
		_ = s.Close()
		c.tb.Fatalf("node %d: Start: %v", i, err)
	}
	c.nodes[i] = s
	return s
}

// stop closes node i.
func (c *cluster) stop(i int) {
	if s := c.nodes[i]; s != nil {
		if err := s.Close(); err != nil {
			c.tb.Errorf("node %d: Close: %v", i, err)
		}
		c.nodes[i] = nil
	}
}

// leader waits until exactly one running node leads and returns its index.
func (c *cluster) leader() int {
	c.tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		found := -1
		count := 0
		for i, s := range c.nodes {
			if s != nil && s.IsLeader() {
				found = i
				count++
			}
		}
		if count == 1 {
			return found
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.tb.Fatal("no single leader elected")
	return -1
}

// put writes key=value through the leader, retrying while leadership
// moves, and returns the leader's applied index after the write.
func (c *cluster) put(key, value string) uint64 {
	c.tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := c.nodes[c.leader()]
		err := l.Put(c.ctx(), &storage.Entry{Key: key, Value: []byte(value)})
		if err == nil {
			return l.AppliedIndex()
		}
		// Puts are idempotent: retry across leadership changes (the outcome of
		// an interrupted one is unknown, so write it again).
		retry := errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrUnknownOutcome)
		if !retry || time.Now().After(deadline) {
			c.tb.Fatalf("put %s: %v", key, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitValue waits until node i has applied index, then checks key.
func (c *cluster) waitValue(i int, index uint64, key, want string) {
	c.tb.Helper()
	s := c.nodes[i]
	if err := s.WaitApplied(c.ctx(), index); err != nil {
		c.tb.Fatalf("node %d: %v", i, err)
	}
	e, err := s.Get(c.ctx(), key)
	if err != nil || e == nil || string(e.Value) != want {
		c.tb.Fatalf("node %d: Get(%s) = %+v, %v; want %q", i, key, e, err, want)
	}
}
