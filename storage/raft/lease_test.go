package raft_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

var errCut = errors.New("test: node cut off")

// faultStream is a TCP raft.StreamLayer that can cut its node off the
// network: while cut, its dials fail, connections to it are closed on
// accept, and every open connection is closed.
type faultStream struct {
	net.Listener
	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newFaultStream(tb testing.TB) *faultStream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return &faultStream{Listener: ln, conns: map[net.Conn]struct{}{}}
}

func (f *faultStream) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *faultStream) Accept() (net.Conn, error) {
	for {
		c, err := f.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if f.track(c) {
			return c, nil
		}
		_ = c.Close()
	}
}

func (f *faultStream) Dial(addr hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	f.mu.Lock()
	cut := f.cut
	f.mu.Unlock()
	if cut {
		return nil, errCut
	}
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	if !f.track(c) {
		_ = c.Close()
		return nil, errCut
	}
	return c, nil
}

// setCut cuts the node off (true) or reconnects it (false).
func (f *faultStream) setCut(cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = cut
	if cut {
		for c := range f.conns {
			_ = c.Close()
		}
		clear(f.conns)
	}
}

// faultCluster starts n nodes over faultStreams.
func faultCluster(tb testing.TB, n int, edit func(*raft.Config)) ([]*raft.Store, []*faultStream) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := make([]*raft.Store, n)
	streams := make([]*faultStream, n)
	for i := range n {
		cfg := clusterConfig(tb, fmt.Sprintf("n%d", i+1))
		cfg.BindAddr = ""
		if edit != nil {
			edit(&cfg)
		}
		s, err := raft.New(ctx, cfg)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = s.Close() })
		streams[i] = newFaultStream(tb)
		if err := s.Start(ctx, streams[i]); err != nil {
			tb.Fatal(err)
		}
		nodes[i] = s
	}
	if err := nodes[0].Bootstrap(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := nodes[0].WaitLeader(ctx); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := nodes[0].AddVoter(ctx, nodes[i].NodeID(), streams[i].Addr().String()); err != nil {
			tb.Fatal(err)
		}
	}
	for _, s := range nodes {
		if err := s.WaitLeader(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return nodes, streams
}

// TestVerifyReadPartitionedLeader cuts the leader off from the majority,
// lets the majority elect a new leader and commit a write, then checks the
// old leader no longer vouches for its local reads: its lease expired
// before the new leader could be elected.
func TestVerifyReadPartitionedLeader(t *testing.T) {
	nodes, streams := faultCluster(t, 3, nil)
	ctx := context.Background()
	old := nodes[0]
	if !old.IsLeader() {
		t.Fatal("bootstrap node is not the leader")
	}
	if err := old.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v1")}); err != nil {
		t.Fatal(err)
	}
	if err := old.VerifyRead(ctx); err != nil {
		t.Fatalf("VerifyRead on the leader = %v", err)
	}
	cutAt := time.Now()
	streams[0].setCut(true)

	// The majority elects a new leader and commits v2.
	var nl *raft.Store
	waitFor(t, "a new leader in the majority", func() bool {
		for _, s := range nodes[1:] {
			if s.IsLeader() {
				nl = s
				return true
			}
		}
		return false
	})
	t.Logf("new leader %s elected %v after the cut", nl.NodeID(), time.Since(cutAt))
	if err := nl.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	// The old leader's local state still says v1; it must not claim that is
	// a linearizable read, whatever raft state it is in.
	if e, _ := old.Get(ctx, "k"); e == nil || string(e.Value) != "v1" {
		t.Fatalf("old leader's local value = %+v", e)
	}
	vctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := old.VerifyRead(vctx); err == nil {
		t.Fatal("cut-off old leader verified a stale read after a new leader committed a write")
	}
	if err := nl.VerifyRead(ctx); err != nil {
		t.Fatalf("VerifyRead on the new leader = %v", err)
	}

	// Healed, the old leader follows and catches up.
	streams[0].setCut(false)
	waitFor(t, "the old leader to apply v2", func() bool {
		e, _ := old.Get(ctx, "k")
		return e != nil && string(e.Value) == "v2"
	})
	if err := old.VerifyRead(ctx); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("VerifyRead on the healed old leader = %v, want ErrNotLeader", err)
	}
}

// TestVerifyReadIsolatedLeaderExpires cuts the leader off and checks that
// VerifyRead stops succeeding once the lease has run out, while raft
// itself still believes it leads (its own step-down waits for
// LeaderLeaseTimeout, set long here): only the lease guards that window.
func TestVerifyReadIsolatedLeaderExpires(t *testing.T) {
	const lease = 100 * time.Millisecond
	nodes, streams := faultCluster(t, 3, func(c *raft.Config) {
		c.HeartbeatTimeout = 400 * time.Millisecond
		c.ElectionTimeout = 400 * time.Millisecond
		c.LeaderLeaseTimeout = 400 * time.Millisecond
		c.ReadLeaseDuration = lease
	})
	leader := nodes[0]
	ctx := context.Background()
	if err := leader.VerifyRead(ctx); err != nil {
		t.Fatal(err)
	}
	streams[0].setCut(true)
	cutAt := time.Now()
	time.Sleep(lease + 30*time.Millisecond)
	stillLeader := leader.IsLeader()
	vctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := leader.VerifyRead(vctx); err == nil {
		t.Fatalf("isolated leader verified a read %v after the cut, past its %v lease", time.Since(cutAt), lease)
	}
	t.Logf("raft still leader when the lease ran out: %v", stillLeader)
}

// TestTransferLeadershipDropsLease: after handing leadership over, the old
// leader refuses VerifyRead and the new one grants it.
func TestTransferLeadershipDropsLease(t *testing.T) {
	nodes, _ := faultCluster(t, 3, nil)
	ctx := context.Background()
	old := nodes[0]
	if err := old.VerifyRead(ctx); err != nil {
		t.Fatal(err)
	}
	if err := old.TransferLeadership(ctx); err != nil {
		t.Fatal(err)
	}
	if err := old.VerifyRead(ctx); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("VerifyRead after transfer = %v, want ErrNotLeader", err)
	}
	var nl *raft.Store
	waitFor(t, "the new leader", func() bool {
		for _, s := range nodes[1:] {
			if s.IsLeader() {
				nl = s
				return true
			}
		}
		return false
	})
	if err := nl.VerifyRead(ctx); err != nil {
		t.Fatalf("VerifyRead on the new leader = %v", err)
	}
}

// TestRestartWaitsOutLease: a node with raft state does not start raft
// (and so cannot vote) until a lease duration after New.
func TestRestartWaitsOutLease(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.HeartbeatTimeout = 400 * time.Millisecond
	cfg.ElectionTimeout = 400 * time.Millisecond
	cfg.ReadLeaseDuration = 300 * time.Millisecond
	s := openStore(t, cfg)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opened := time.Now()
	s, err := raft.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(opened); d < cfg.ReadLeaseDuration {
		t.Fatalf("restarted node started raft %v after New, before the %v lease", d, cfg.ReadLeaseDuration)
	}
}

// BenchmarkVerifyRead measures VerifyRead on the leader of a 3-node
// cluster: with the lease (almost always a hit) and with the lease
// disabled (a VerifyLeader round trip to a quorum every time).
func BenchmarkVerifyRead(b *testing.B) {
	cases := []struct {
		name  string
		lease time.Duration
	}{{"lease", 0}, {"round-trip", -1}}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			nodes, _ := faultCluster(b, 3, func(c *raft.Config) { c.ReadLeaseDuration = tc.lease })
			ctx := context.Background()
			leader := nodes[0]
			if err := leader.VerifyRead(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := leader.VerifyRead(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLinearizableReadPause simulates a process stalled between the lease
// check and the read (as SIGSTOP would): the leader is cut off and the
// read runs after the lease ran out. The read must not be reported
// linearizable. Undisturbed, the read runs once and succeeds.
func TestLinearizableReadPause(t *testing.T) {
	const lease = 100 * time.Millisecond
	nodes, streams := faultCluster(t, 3, func(c *raft.Config) {
		c.HeartbeatTimeout = 400 * time.Millisecond
		c.ElectionTimeout = 400 * time.Millisecond
		c.LeaderLeaseTimeout = 400 * time.Millisecond
		c.ReadLeaseDuration = lease
	})
	leader := nodes[0]
	ctx := context.Background()
	if err := leader.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	t.Run("undisturbed", func(t *testing.T) {
		calls := 0
		var got *storage.Entry
		err := leader.LinearizableRead(ctx, func() error {
			calls++
			var err error
			got, err = leader.Get(ctx, "k")
			return err
		})
		if err != nil || calls != 1 || got == nil || string(got.Value) != "v" {
			t.Fatalf("LinearizableRead = %v after %d calls, value %+v", err, calls, got)
		}
	})
	t.Run("stalled past the lease", func(t *testing.T) {
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err := leader.LinearizableRead(rctx, func() error {
			streams[0].setCut(true)
			time.Sleep(lease + 30*time.Millisecond) // the stall
			_, err := leader.Get(ctx, "k")
			return err
		})
		if err == nil {
			t.Fatal("a read stalled past the lease while cut off was reported linearizable")
		}
	})
}
