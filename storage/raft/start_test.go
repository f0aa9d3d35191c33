package raft_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

// TestLazyStart reopens a data directory without starting the network:
// local reads work, cluster operations fail with ErrNotStarted, and Start
// resumes the cluster with the data intact.
func TestLazyStart(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	s := openStore(t, cfg)
	for i := range 10 {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k/%d", i), Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	applied := s.AppliedIndex()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := raft.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Run("sealed: local reads only", func(t *testing.T) {
		if s.Started() || s.IsLeader() {
			t.Fatal("store started by New")
		}
		if e, err := s.Get(ctx, "k/3"); err != nil || e == nil || e.Value[0] != 3 {
			t.Fatalf("Get before Start = %+v, %v", e, err)
		}
		if keys, err := s.List(ctx, "k/"); err != nil || len(keys) != 10 {
			t.Fatalf("List before Start = %q, %v", keys, err)
		}
		if got := s.AppliedIndex(); got != applied {
			t.Fatalf("AppliedIndex before Start = %d, want %d", got, applied)
		}
		if err := s.WaitApplied(ctx, applied); err != nil {
			t.Fatalf("WaitApplied(applied) before Start = %v", err)
		}
		if s.Addr() != cfg.BindAddr || s.Stats()["state"] != "NotStarted" {
			t.Fatalf("Addr = %q, Stats = %v", s.Addr(), s.Stats())
		}
	})
	t.Run("sealed: cluster operations fail", func(t *testing.T) {
		ops := map[string]error{
			"Put":          s.Put(ctx, &storage.Entry{Key: "x", Value: []byte("v")}),
			"Delete":       s.Delete(ctx, "k/1"),
			"VerifyRead":   s.VerifyRead(ctx),
			"AddVoter":     s.AddVoter(ctx, "n2", "127.0.0.1:1"),
			"RemoveServer": s.RemoveServer(ctx, "n2"),
			"Snapshot":     s.Snapshot(ctx),
		}
		_, confErr := s.Configuration(ctx)
		ops["Configuration"] = confErr
		for name, err := range ops {
			if !errors.Is(err, raft.ErrNotStarted) {
				t.Errorf("%s before Start = %v, want ErrNotStarted", name, err)
			}
		}
	})
	t.Run("start resumes the cluster", func(t *testing.T) {
		if err := s.Start(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx, nil); !errors.Is(err, raft.ErrAlreadyStarted) {
			t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
		}
		if err := s.Bootstrap(ctx); err != nil {
			t.Fatalf("Bootstrap on a started store with state = %v", err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.WaitLeader(wctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, &storage.Entry{Key: "k/10", Value: []byte{10}}); err != nil {
			t.Fatal(err)
		}
		keys, err := s.List(ctx, "k/")
		if err != nil || len(keys) != 11 {
			t.Fatalf("List after Start = %q, %v", keys, err)
		}
		if err := s.VerifyRead(ctx); err != nil {
			t.Fatalf("VerifyRead on single-node leader = %v", err)
		}
	})
}

// TestStartWithStreamLayer passes the stream layer to Start (the TLS
// layer only exists after unseal) on a store configured without one.
func TestStartWithStreamLayer(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	cfg.BindAddr = ""
	s, err := raft.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start(ctx, nil); err == nil {
		t.Fatal("Start without BindAddr or stream layer succeeded")
	}
	if s.Started() {
		t.Fatal("failed Start left the store started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &tcpStream{Listener: ln}
	if err := s.Start(ctx, sl); err != nil {
		t.Fatal(err)
	}
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.WaitLeader(wctx); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != ln.Addr().String() {
		t.Fatalf("Addr = %s, want %s", s.Addr(), ln.Addr())
	}
	servers, err := s.Configuration(ctx)
	if err != nil || len(servers) != 1 || servers[0].Address != ln.Addr().String() {
		t.Fatalf("Configuration = %+v, %v", servers, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("stream layer given to Start still accepting after Close")
	}
	if err := s.Start(ctx, nil); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

// TestObserveSingleNode checks the leadership callback: registered before
// Start it first sees false (not started), then true once elected.
func TestObserveSingleNode(t *testing.T) {
	ctx := context.Background()
	s, err := raft.New(ctx, testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	calls := make(chan bool, 16)
	s.Observe(func(isLeader bool) { calls <- isLeader })
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	var seen []bool
	deadline := time.After(10 * time.Second)
	for !slices.Contains(seen, true) {
		select {
		case v := <-calls:
			seen = append(seen, v)
		case <-deadline:
			t.Fatalf("no leadership callback; saw %v", seen)
		}
	}
	// A callback registered now is called once with the current state.
	late := make(chan bool, 1)
	s.Observe(func(isLeader bool) { late <- isLeader })
	select {
	case v := <-late:
		if !v {
			t.Fatal("late observer told false on the leader")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("late observer never called")
	}
}
