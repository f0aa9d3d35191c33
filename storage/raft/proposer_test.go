package raft

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
)

func openInternal(t *testing.T) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeID = "n1"
	cfg.BindAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 50 * time.Millisecond
	cfg.ElectionTimeout = 50 * time.Millisecond
	cfg.LeaderLeaseTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func lastIndex(t *testing.T, s *Store) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s.Stats()["last_log_index"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestGroupCommit holds the proposer's in-flight slots so writes queue,
// then releases them: the queued writes must share raft entries, and a
// bad batch in the group must fail alone.
func TestGroupCommit(t *testing.T) {
	s := openInternal(t)
	ctx := context.Background()
	for range maxInflight {
		s.inflight <- struct{}{}
	}
	before := lastIndex(t, s)
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("g/%02d", i)
			if i%10 == 3 {
				key = "" // invalid: only the FSM sees it (validateOps bypassed)
			}
			errs[i] = s.propose(ctx, encodeBatch([]*storage.Op{
				{Kind: storage.OpPut, Entry: &storage.Entry{Key: key, Value: []byte("v")}},
			}))
		}()
	}
	// The proposer took one proposal and waits for a slot; the rest queue.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.proposals) < n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d proposals queued", len(s.proposals))
		}
		time.Sleep(time.Millisecond)
	}
	for range maxInflight {
		<-s.inflight
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 3 {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("write %d = %v, want ErrInvalidKey", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("write %d = %v", i, err)
		}
		if v, ok, _ := s.fsm.get(fmt.Sprintf("g/%02d", i)); !ok || string(v) != "v" {
			t.Fatalf("write %d not applied", i)
		}
	}
	if entries := lastIndex(t, s) - before; entries > 2 {
		t.Fatalf("%d writes took %d raft entries, want <= 2", n, entries)
	}
}

func TestProposeTooLarge(t *testing.T) {
	s := openInternal(t)
	cmd := make([]byte, s.cfg.MaxCommandSize+1)
	if err := s.propose(context.Background(), cmd); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("propose = %v, want ErrTooLarge", err)
	}
}

func TestProposeCanceled(t *testing.T) {
	s := openInternal(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with canceled ctx = %v", err)
	}
}
