package raft_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/raft"
)

const snapKeys = 100

// snapValue is key i's value in the source cluster; key 7 is large so the
// data spans many bbolt pages.
func snapValue(i int) string {
	if i == 7 {
		return string(bytes.Repeat([]byte("big"), 100_000))
	}
	return "v" + strconv.Itoa(i)
}

// sourceSnapshot writes snapKeys keys to a 3-node cluster and returns a
// snapshot saved on its leader.
func sourceSnapshot(t *testing.T) []byte {
	t.Helper()
	c := newCluster(t, 3, nil)
	c.nodes[c.leader()].SetClusterID("cluster-A")
	for i := range snapKeys {
		c.put(fmt.Sprintf("snap/%03d", i), snapValue(i))
	}
	var buf bytes.Buffer
	if err := c.nodes[c.leader()].SaveSnapshot(c.ctx(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkRestored checks that s holds exactly the source keys.
func checkRestored(t *testing.T, s *raft.Store) {
	t.Helper()
	ctx := context.Background()
	keys, err := s.List(ctx, "snap/")
	if err != nil || len(keys) != snapKeys {
		t.Fatalf("%s: %d snapshot keys, %v", s.NodeID(), len(keys), err)
	}
	for _, i := range []int{0, 7, 42, snapKeys - 1} {
		e, err := s.Get(ctx, fmt.Sprintf("snap/%03d", i))
		if err != nil || e == nil || string(e.Value) != snapValue(i) {
			t.Fatalf("%s: key %d wrong after restore (%v)", s.NodeID(), i, err)
		}
	}
	if e, _ := s.Get(ctx, "target/marker"); e != nil {
		t.Fatalf("%s: pre-restore key survived the restore", s.NodeID())
	}
}

func TestUserSnapshot(t *testing.T) {
	snap := sourceSnapshot(t)
	ctx := context.Background()

	t.Run("restore on a fresh single node", func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		s := openStore(t, cfg)
		if err := s.Put(ctx, &storage.Entry{Key: "target/marker", Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		if err := s.RestoreSnapshot(ctx, bytes.NewReader(snap), false); err != nil {
			t.Fatal(err)
		}
		checkRestored(t, s)
		servers, err := s.Configuration(ctx)
		if err != nil || len(servers) != 1 || servers[0].ID != "node1" || !servers[0].Leader {
			t.Fatalf("membership after restore = %+v, %v (want this node only)", servers, err)
		}
		if err := s.Put(ctx, &storage.Entry{Key: "after", Value: []byte("v")}); err != nil {
			t.Fatalf("write after restore: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, cfg)
		checkRestored(t, s)
		if e, _ := s.Get(ctx, "after"); e == nil {
			t.Fatal("write after restore lost across restart")
		}
		if err := s.Put(ctx, &storage.Entry{Key: "after2", Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if e, _ := s.Get(ctx, "after2"); e == nil {
			t.Fatal("write after restart not applied (stale applied index?)")
		}
	})

	t.Run("restore on another 3-node cluster keeps its membership", func(t *testing.T) {
		c := newCluster(t, 3, nil)
		c.put("target/marker", "x")
		leader := c.nodes[c.leader()]
		before, err := leader.Configuration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		follower := c.nodes[(c.leader()+1)%3]
		if err := follower.RestoreSnapshot(ctx, bytes.NewReader(snap), true); !errors.Is(err, raft.ErrNotLeader) {
			t.Fatalf("restore on a follower = %v, want ErrNotLeader", err)
		}
		if err := leader.RestoreSnapshot(ctx, bytes.NewReader(snap), false); err != nil {
			t.Fatal(err)
		}
		idx := c.put("after", "v")
		for i := range c.nodes {
			c.waitValue(i, idx, "after", "v")
			checkRestored(t, c.nodes[i])
		}
		after, _ := leader.Configuration(ctx)
		if !slices.Equal(ids(before), ids(after)) {
			t.Fatalf("membership changed: %v -> %v", ids(before), ids(after))
		}
		// The restored cluster still elects: close its leader.
		c.stop(c.leader())
		idx = c.put("after-failover", "v")
		for i, s := range c.nodes {
			if s != nil {
				c.waitValue(i, idx, "after-failover", "v")
			}
		}
	})

	t.Run("cluster id", func(t *testing.T) {
		s := openStore(t, testConfig(t.TempDir()))
		s.SetClusterID("cluster-B")
		err := s.RestoreSnapshot(ctx, bytes.NewReader(snap), false)
		if !errors.Is(err, raft.ErrClusterMismatch) {
			t.Fatalf("restore from another cluster = %v, want ErrClusterMismatch", err)
		}
		if err := s.RestoreSnapshot(ctx, bytes.NewReader(snap), true); err != nil {
			t.Fatalf("forced restore = %v", err)
		}
		checkRestored(t, s)
	})

	t.Run("corrupted or truncated snapshots change nothing", func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		s := openStore(t, cfg)
		if err := s.Put(ctx, &storage.Entry{Key: "target/marker", Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		applied := s.AppliedIndex()
		flip := func(at int) []byte {
			b := slices.Clone(snap)
			b[at] ^= 0x01
			return b
		}
		bad := map[string][]byte{
			"empty":            nil,
			"magic flipped":    flip(0),
			"header flipped":   flip(20),
			"data flipped":     flip(len(snap) / 2),
			"checksum flipped": flip(len(snap) - 1),
			"cut in header":    snap[:12],
			"cut in data":      snap[:len(snap)/2],
			"cut in checksum":  snap[:len(snap)-1],
			"trailing garbage": append(slices.Clone(snap), 0),
		}
		for name, b := range bad {
			t.Run(name, func(t *testing.T) {
				err := s.RestoreSnapshot(ctx, bytes.NewReader(b), true)
				if !errors.Is(err, raft.ErrBadSnapshot) {
					t.Fatalf("RestoreSnapshot = %v, want ErrBadSnapshot", err)
				}
				if e, _ := s.Get(ctx, "target/marker"); e == nil {
					t.Fatal("state changed by a rejected snapshot")
				}
				if k, _ := s.List(ctx, "snap/"); len(k) != 0 {
					t.Fatal("rejected snapshot's keys visible")
				}
				if s.AppliedIndex() != applied {
					t.Fatalf("applied index moved %d -> %d", applied, s.AppliedIndex())
				}
			})
		}
		spool, _ := filepath.Glob(filepath.Join(cfg.DataDir, "raft", "user-restore-*"))
		if len(spool) != 0 {
			t.Fatalf("spool files left behind: %v", spool)
		}
	})

	t.Run("a failing writer fails the save", func(t *testing.T) {
		s := openStore(t, testConfig(t.TempDir()))
		if err := s.RestoreSnapshot(ctx, bytes.NewReader(snap), true); err != nil {
			t.Fatal(err)
		}
		var full bytes.Buffer
		if err := s.SaveSnapshot(ctx, &full); err != nil {
			t.Fatal(err)
		}
		size := full.Len()
		for _, limit := range []int{0, 10, 5000, size / 2, size - 32, size - 1} {
			t.Run(strconv.Itoa(limit), func(t *testing.T) {
				w := &failingWriter{limit: limit}
				err := s.SaveSnapshot(ctx, w)
				if !errors.Is(err, errDiskFull) {
					t.Fatalf("SaveSnapshot into a writer failing after %d bytes = %v", limit, err)
				}
			})
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.SaveSnapshot(cctx, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("SaveSnapshot with a cancelled ctx = %v", err)
		}
	})

	t.Run("save before Start", func(t *testing.T) {
		cfg := testConfig(t.TempDir())
		s := openStore(t, cfg)
		if err := s.RestoreSnapshot(ctx, bytes.NewReader(snap), true); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		sealed, err := raft.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer sealed.Close()
		var buf bytes.Buffer
		if err := sealed.SaveSnapshot(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		target := openStore(t, testConfig(t.TempDir()))
		if err := target.RestoreSnapshot(ctx, &buf, true); err != nil {
			t.Fatal(err)
		}
		checkRestored(t, target)
	})
}

var errDiskFull = errors.New("disk full")

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit, n int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		k := w.limit - w.n
		w.n = w.limit
		return k, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

func ids(servers []raft.Server) []string {
	var out []string
	for _, s := range servers {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}
