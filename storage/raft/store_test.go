package raft_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

func TestConfigValidate(t *testing.T) {
	base := testConfig(t.TempDir())
	tests := []struct {
		name  string
		edit  func(*raft.Config)
		field string // "" means valid
	}{
		{"valid", func(*raft.Config) {}, ""},
		{"no data dir", func(c *raft.Config) { c.DataDir = "" }, "DataDir"},
		{"no node id", func(c *raft.Config) { c.NodeID = "" }, "NodeID"},
		{"no bind addr: network given to Start", func(c *raft.Config) { c.BindAddr = "" }, ""},
		{"bad bind addr", func(c *raft.Config) { c.BindAddr = "nonsense" }, "BindAddr"},
		{"bad advertise", func(c *raft.Config) { c.AdvertiseAddr = "x:y:z" }, "AdvertiseAddr"},
		{"zero threshold", func(c *raft.Config) { c.SnapshotThreshold = 0 }, "SnapshotThreshold"},
		{"tiny interval", func(c *raft.Config) { c.SnapshotInterval = time.Millisecond }, "SnapshotInterval"},
		{"no retain", func(c *raft.Config) { c.RetainSnapshots = 0 }, "RetainSnapshots"},
		{"no apply timeout", func(c *raft.Config) { c.ApplyTimeout = 0 }, "ApplyTimeout"},
		{"no max size", func(c *raft.Config) { c.MaxCommandSize = 0 }, "MaxCommandSize"},
		{"huge append", func(c *raft.Config) { c.MaxAppendEntries = 5000 }, "MaxAppendEntries"},
		{"lease > heartbeat", func(c *raft.Config) { c.LeaderLeaseTimeout = time.Second }, "timeouts"},
		{"read lease = heartbeat", func(c *raft.Config) { c.ReadLeaseDuration = c.HeartbeatTimeout }, "ReadLeaseDuration"},
		{"read lease disabled", func(c *raft.Config) { c.ReadLeaseDuration = -1 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate() = %v, want error naming %s", err, tc.field)
			}
		})
	}
}

func TestBackendContract(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t.TempDir()))
	for _, k := range []string{"a", "b/c", "b/d/e", "b/d/f", "c", "b0", "b/d/g/h"} {
		if err := s.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	lists := []struct {
		name   string
		prefix string
		want   []string
	}{
		{"root", "", []string{"a", "b/", "b0", "c"}},
		{"dir", "b/", []string{"c", "d/"}},
		{"nested", "b/d/", []string{"e", "f", "g/"}},
		{"partial name", "b", []string{"/", "0"}},
		{"missing", "zz/", []string{}},
	}
	for _, tc := range lists {
		t.Run("list "+tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}
	t.Run("get", func(t *testing.T) {
		e, err := s.Get(ctx, "b/d/e")
		if err != nil || e == nil || e.Key != "b/d/e" || string(e.Value) != "b/d/e" {
			t.Fatalf("Get = %+v, %v", e, err)
		}
		if e, err := s.Get(ctx, "nope"); e != nil || err != nil {
			t.Fatalf("Get(missing) = %+v, %v; want nil, nil", e, err)
		}
	})
	t.Run("empty value", func(t *testing.T) {
		if err := s.Put(ctx, &storage.Entry{Key: "empty"}); err != nil {
			t.Fatal(err)
		}
		e, err := s.Get(ctx, "empty")
		if err != nil || e == nil || len(e.Value) != 0 {
			t.Fatalf("Get(empty) = %+v, %v", e, err)
		}
	})
	t.Run("overwrite and delete", func(t *testing.T) {
		if err := s.Put(ctx, &storage.Entry{Key: "a", Value: []byte("v2")}); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, "a"); e == nil || string(e.Value) != "v2" {
			t.Fatalf("overwrite: got %+v", e)
		}
		if err := s.Delete(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, "a"); e != nil {
			t.Fatalf("deleted key still present: %q", e.Value)
		}
		if err := s.Delete(ctx, "never-existed"); err != nil {
			t.Fatalf("Delete(missing) = %v", err)
		}
	})
	t.Run("invalid keys", func(t *testing.T) {
		for _, k := range []string{"", "a\x00b"} {
			if err := s.Put(ctx, &storage.Entry{Key: k}); !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("Put(%q) = %v, want ErrInvalidKey", k, err)
			}
		}
	})
	t.Run("caller owns returned value", func(t *testing.T) {
		e, _ := s.Get(ctx, "c")
		e.Value[0] = 'X'
		if e2, _ := s.Get(ctx, "c"); string(e2.Value) != "c" {
			t.Fatalf("stored value changed to %q", e2.Value)
		}
	})
}

func TestTransaction(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t.TempDir()))
	if err := s.Put(ctx, &storage.Entry{Key: "old", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	t.Run("applies all ops in order", func(t *testing.T) {
		err := s.Transaction(ctx, []*storage.Op{
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: "x", Value: []byte("1")}},
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: "x", Value: []byte("2")}},
			{Kind: storage.OpDelete, Entry: &storage.Entry{Key: "old"}},
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: "y", Value: []byte("3")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"x": "2", "y": "3"}
		for k, v := range want {
			if e, _ := s.Get(ctx, k); e == nil || string(e.Value) != v {
				t.Fatalf("Get(%q) = %+v, want %q", k, e, v)
			}
		}
		if e, _ := s.Get(ctx, "old"); e != nil {
			t.Fatal("delete in transaction not applied")
		}
	})
	t.Run("invalid op rejects whole batch", func(t *testing.T) {
		err := s.Transaction(ctx, []*storage.Op{
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: "z", Value: []byte("1")}},
			{Kind: storage.OpPut, Entry: &storage.Entry{Key: ""}},
		})
		if !errors.Is(err, storage.ErrInvalidKey) {
			t.Fatalf("Transaction = %v, want ErrInvalidKey", err)
		}
		if e, _ := s.Get(ctx, "z"); e != nil {
			t.Fatal("first op of a rejected batch was applied")
		}
	})
	t.Run("readers never see half a batch", func(t *testing.T) {
		testBatchAtomicity(t, s)
	})
}

// testBatchAtomicity alternates a batch that creates ten keys with one that
// deletes them while readers List the prefix: every List must see 0 or 10.
func testBatchAtomicity(t *testing.T, s *raft.Store) {
	ctx := context.Background()
	mk := func(kind storage.OpKind) []*storage.Op {
		ops := make([]*storage.Op, 10)
		for i := range ops {
			ops[i] = &storage.Op{Kind: kind, Entry: &storage.Entry{Key: fmt.Sprintf("atom/%d", i), Value: []byte("v")}}
		}
		return ops
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.List(ctx, "atom/")
				if err == nil && len(got) != 0 && len(got) != 10 {
					err = fmt.Errorf("List saw %d keys of a 10-key batch", len(got))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 100 {
		kind := storage.OpPut
		if i%2 == 1 {
			kind = storage.OpDelete
		}
		if err := s.Transaction(ctx, mk(kind)); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestTooLarge(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxCommandSize = 4096
	s := openStore(t, cfg)
	ctx := context.Background()
	tests := []struct {
		name  string
		entry *storage.Entry
	}{
		{"value over MaxCommandSize", &storage.Entry{Key: "big", Value: make([]byte, 5000)}},
		{"key over bbolt limit", &storage.Entry{Key: strings.Repeat("k", 40000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(ctx, tc.entry); !errors.Is(err, storage.ErrTooLarge) {
				t.Fatalf("Put = %v, want ErrTooLarge", err)
			}
		})
	}
	if err := s.Put(ctx, &storage.Entry{Key: "fits", Value: make([]byte, 4000)}); err != nil {
		t.Fatalf("Put under the limit: %v", err)
	}
}

func TestNotLeader(t *testing.T) {
	ctx := context.Background()
	// A node that was never bootstrapped has no cluster and no leader.
	s, err := raft.New(ctx, testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, raft.ErrNotStarted) {
		t.Fatalf("Put before Start = %v, want ErrNotStarted", err)
	}
	if err := s.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if s.IsLeader() {
		t.Fatal("unbootstrapped node claims leadership")
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k", Value: []byte("v")}); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("Put on follower = %v, want ErrNotLeader", err)
	}
	if e, err := s.Get(ctx, "k"); e != nil || err != nil {
		t.Fatalf("local read on follower = %+v, %v", e, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := s.WaitLeader(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitLeader without cluster = %v, want deadline exceeded", err)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t.TempDir()))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "k"}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
}

func TestDataDirInUse(t *testing.T) {
	cfg := testConfig(t.TempDir())
	openStore(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s2, err := raft.New(ctx, cfg)
	if err == nil {
		_ = s2.Close()
		t.Fatal("second store opened the same DataDir")
	}
	if !strings.Contains(err.Error(), "vault.db") {
		t.Fatalf("New on a DataDir in use = %v, want the FSM file lock error", err)
	}
}

func TestRestartPersists(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	s := openStore(t, cfg)
	for i := range 20 {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("k/%02d", i), Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "k/05"); err != nil {
		t.Fatal(err)
	}
	applied := s.AppliedIndex()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart on a different port: the node keeps its ID and cluster.
	s = openStore(t, cfg)
	if got := s.AppliedIndex(); got < applied {
		t.Fatalf("applied index went back from %d to %d", applied, got)
	}
	servers, err := s.Configuration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 1 || servers[0].ID != "node1" || !servers[0].Leader || !servers[0].Voter {
		t.Fatalf("configuration after restart = %+v", servers)
	}
	keys, err := s.List(ctx, "k/")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 19 || slices.Contains(keys, "05") {
		t.Fatalf("after restart List = %q", keys)
	}
	if e, _ := s.Get(ctx, "k/07"); e == nil || e.Value[0] != 7 {
		t.Fatalf("after restart Get(k/07) = %+v", e)
	}
	if err := s.Put(ctx, &storage.Entry{Key: "after", Value: []byte("restart")}); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func TestSnapshotThenRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SnapshotThreshold = 16
	cfg.SnapshotInterval = 20 * time.Millisecond
	cfg.TrailingLogs = 8
	s := openStore(t, cfg)
	const n = 200
	for i := range n {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("s/%03d", i), Value: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "an automatic snapshot", func() bool { return s.Stats()["last_snapshot_index"] != "0" })
	// Force one covering every write, so the log is compacted past them.
	if err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if first := s.Stats()["last_snapshot_index"]; first == "0" {
		t.Fatal("no snapshot index after Snapshot")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, s *raft.Store) {
		t.Helper()
		keys, err := s.List(ctx, "s/")
		if err != nil || len(keys) != n {
			t.Fatalf("List after restart: %d keys, %v", len(keys), err)
		}
		if e, _ := s.Get(ctx, "s/123"); e == nil || string(e.Value) != "123" {
			t.Fatalf("Get(s/123) = %+v", e)
		}
	}
	t.Run("restart keeps data", func(t *testing.T) {
		s := openStore(t, cfg)
		check(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("lost fsm file is rebuilt from snapshot", func(t *testing.T) {
		if err := os.Remove(filepath.Join(dir, "vault.db")); err != nil {
			t.Fatal(err)
		}
		s := openStore(t, cfg)
		check(t, s)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t.TempDir()))
	const writers, perWriter = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				k := fmt.Sprintf("w%d/%03d", w, i)
				if err := s.Put(ctx, &storage.Entry{Key: k, Value: []byte(k)}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() { // a reader per writer, racing the applies
			defer wg.Done()
			for range perWriter {
				if _, err := s.List(ctx, fmt.Sprintf("w%d/", w)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		keys, err := s.List(ctx, fmt.Sprintf("w%d/", w))
		if err != nil || len(keys) != perWriter {
			t.Fatalf("writer %d: %d keys, %v", w, len(keys), err)
		}
	}
}

// tcpStream is a minimal raft.StreamLayer, standing in for the TLS layer.
type tcpStream struct {
	net.Listener
	dials int
	mu    sync.Mutex
}

func (l *tcpStream) Dial(addr hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	l.mu.Lock()
	l.dials++
	l.mu.Unlock()
	return net.DialTimeout("tcp", string(addr), timeout)
}

func TestCustomStreamLayer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t.TempDir())
	cfg.BindAddr = ""
	cfg.StreamLayer = &tcpStream{Listener: ln}
	s := openStore(t, cfg)
	if s.Addr() != ln.Addr().String() {
		t.Fatalf("Addr = %s, want stream layer address %s", s.Addr(), ln.Addr())
	}
	if addr, id := s.Leader(); id != "node1" || addr != ln.Addr().String() {
		t.Fatalf("Leader = %s %s", addr, id)
	}
	if err := s.Put(context.Background(), &storage.Entry{Key: "k", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("stream layer still accepting after Close")
	}
}
