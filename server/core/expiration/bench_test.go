package expiration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/storage"
)

const benchLeases = 100_000

var (
	benchOnce  sync.Once
	benchStore storage.Backend
	benchIDs   []string
)

// benchStorage is a barrier view holding benchLeases leases of one hour
// over 10 roles of 2 mounts, registered through a Manager (built once).
func benchStorage(b *testing.B) (storage.Backend, []string) {
	benchOnce.Do(func() {
		h := &harness{t: b, st: newStorage(b), clk: newClock(), rev: newRevoker()}
		m := h.startWith(h.st)
		ids := make([]string, benchLeases)
		for i := range ids {
			mount := []string{"database/", "aws/"}[i%2]
			ids[i] = fmt.Sprintf("%screds/role%d/%s", mount, i%10, randomSuffix())
		}
		slices.Sort(ids) // in key order: the in-memory store appends
		ctx := context.Background()
		for _, id := range ids {
			mount := mountOf(id)
			if err := m.Register(ctx, h.lease(id, mount, time.Hour, 2*time.Hour, "acc")); err != nil {
				b.Fatal(err)
			}
		}
		m.Stop()
		benchStore, benchIDs = h.st, ids
	})
	return benchStore, benchIDs
}

// mountOf returns the mount of a benchmark lease id ("database/" in
// "database/creds/…").
func mountOf(id string) string {
	for i := range len(id) {
		if id[i] == '/' {
			return id[:i+1]
		}
	}
	return ""
}

func randomSuffix() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listedHandler records the manager's "leases loaded" log line.
type listedHandler struct {
	slog.Handler
	listed atomic.Int64
}

func (h *listedHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "listed_in" {
			h.listed.Store(int64(a.Value.Duration()))
		}
		return true
	})
	return nil
}

func (h *listedHandler) Enabled(context.Context, slog.Level) bool { return true }

// BenchmarkStart100k starts a new active node's manager over 100,000
// stored leases and measures: the time from Start to the first answered
// Register followed by a Lookup of an old lease (first-answer), the
// listing phase (from which quota counts are exact) and the whole load;
// "busy" registers leases back to back during the load and reports the
// slowest, "idle" only waits.
func BenchmarkStart100k(b *testing.B) {
	for _, busy := range []bool{true, false} {
		b.Run(map[bool]string{true: "busy", false: "idle"}[busy], func(b *testing.B) { benchStart(b, busy) })
	}
}

func benchStart(b *testing.B, busy bool) {
	st, ids := benchStorage(b)
	ctx := context.Background()
	clk := newClock()
	var first, worst, listed, loaded time.Duration
	n := 0
	for b.Loop() {
		lh := &listedHandler{Handler: slog.NewTextHandler(io.Discard, nil)}
		m, err := expiration.New(expiration.Config{Storage: st, Revoker: newRevoker(), Now: clk.Now, Logger: slog.New(lh)})
		if err != nil {
			b.Fatal(err)
		}
		h := &harness{t: b, clk: clk, m: m}
		start := time.Now()
		if err := m.Start(ctx); err != nil {
			b.Fatal(err)
		}
		var mine []string
		register := func() time.Duration {
			t0 := time.Now()
			id := fmt.Sprintf("database/creds/bench/%s", randomSuffix())
			if err := m.Register(ctx, h.lease(id, "database/", time.Hour, time.Hour, "")); err != nil {
				b.Fatal(err)
			}
			mine = append(mine, id)
			return time.Since(t0)
		}
		register()
		if _, err := m.Lookup(ctx, ids[len(ids)/2]); err != nil {
			b.Fatal(err)
		}
		first += time.Since(start)
		for done := !busy; !done; {
			select {
			case <-m.Loaded():
				done = true
			default:
				worst = max(worst, register())
			}
		}
		<-m.Loaded()
		loaded += time.Since(start)
		listed += time.Duration(lh.listed.Load())
		n++
		for _, id := range mine {
			if err := m.Revoke(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		m.Stop()
	}
	b.ReportMetric(float64(first.Microseconds())/float64(n)/1000, "first-answer-ms")
	if busy {
		b.ReportMetric(float64(worst.Microseconds())/1000, "max-register-during-load-ms")
	}
	b.ReportMetric(float64(listed.Microseconds())/float64(n)/1000, "listed-ms")
	b.ReportMetric(float64(loaded.Microseconds())/float64(n)/1000, "loaded-ms")
}

// BenchmarkRegister measures Register throughput on a loaded manager
// over the barrier and the in-memory store. "no-token": lease ids in key
// order, no token index (the store appends). "with-token+revoke": each
// lease has a token index entry (a random key: the in-memory store's
// sorted insert would dominate as the store grows), so each iteration
// revokes the lease again and the store stays small.
func BenchmarkRegister(b *testing.B) {
	for _, tt := range []struct {
		name     string
		accessor string
	}{{"no-token", ""}, {"with-token+revoke", "acc"}} {
		b.Run(tt.name, func(b *testing.B) {
			h := newHarness(b, func(c *expiration.Config) { c.PollInterval = time.Second })
			ctx := context.Background()
			waitLoaded(b, h.m)
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("database/creds/ro/%09d", i)
				if err := h.m.Register(ctx, h.lease(id, "database/", time.Hour, time.Hour, tt.accessor)); err != nil {
					b.Fatal(err)
				}
				if tt.accessor != "" {
					if err := h.m.Revoke(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				i++
			}
		})
	}
}
