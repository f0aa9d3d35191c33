package expiration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/storage"
)

// gatedStorage holds every Get of a key under prefix until gate closes
// (a slow store); it is not Transactional, so the manager's
// non-atomic write path runs too.
type gatedStorage struct {
	storage.Backend
	prefix string
	gate   chan struct{}
}

func (g *gatedStorage) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if strings.HasPrefix(key, g.prefix) {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Backend.Get(ctx, key)
}

// TestOperationsDuringLoad: while the stored leases' records cannot be
// read yet, Start has returned, Register, Lookup and List answer, quota
// counts become exact from the listing alone, and Loaded stays open;
// once the records come in, the load finishes and the lease that
// expired meanwhile is revoked.
func TestOperationsDuringLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	const old = 50
	for i := range old {
		h.register(leaseID("database/", "old", i), "database/", time.Hour, "")
	}
	expired := h.register("database/creds/old/expired", "database/", time.Minute, "")
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "old", Path: "database/creds/old/", MaxLeases: old + 1}); err != nil {
		t.Fatal(err)
	}
	h.m.Stop()
	h.clk.Advance(2 * time.Minute)

	gated := &gatedStorage{Backend: h.st, prefix: "id/database/creds/old/", gate: make(chan struct{})}
	m := h.startWith(gated)
	h.m = m
	fresh := h.register("database/creds/new/1", "database/", time.Hour, "acc")
	if got, err := m.Lookup(ctx, fresh.ID); err != nil || got.ClientTokenAccessor != "acc" {
		t.Fatalf("Lookup during load = %+v, %v", got, err)
	}
	if keys, err := m.List(ctx, "database/creds/old"); err != nil || len(keys) != old+1 {
		t.Fatalf("List during load = %d keys, %v", len(keys), err)
	}
	eventually(t, "quota count rebuilt from the listing", func() bool {
		qs, _ := m.GetQuota(ctx, "old")
		return qs.Count == old+1
	})
	wantQuotaError(t, h.registerErr("database/creds/old/one-more", "database/"), "old")
	select {
	case <-m.Loaded():
		t.Fatal("Loaded closed before the records were read")
	default:
	}
	if m.Stats().Loaded {
		t.Fatal("Stats().Loaded before the records were read")
	}

	close(gated.gate)
	waitLoaded(t, m)
	eventually(t, "lease expired while no node was active revoked", func() bool { return !h.exists(m, expired.ID) })
	eventually(t, "stats after load", func() bool {
		st := m.Stats()
		return st.Loaded && st.ByMount["database/"] == old+1
	})
}

func TestRemainingTTLs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.register("database/creds/ro/1", "database/", time.Hour, "")
	h.register("database/creds/ro/2", "database/", 2*time.Hour, "")
	h.register("aws/creds/x/1", "aws/", 30*time.Minute, "")
	h.clk.Advance(10 * time.Minute)
	got := map[string][]time.Duration{}
	h.m.RemainingTTLs(func(mount string, d time.Duration) { got[mount] = append(got[mount], d) })
	if len(got["database/"]) != 2 || len(got["aws/"]) != 1 || got["aws/"][0] != 20*time.Minute {
		t.Fatalf("RemainingTTLs = %v", got)
	}
	sum := got["database/"][0] + got["database/"][1]
	if sum != 50*time.Minute+110*time.Minute {
		t.Fatalf("database remaining = %v", got["database/"])
	}
}

// TestConcurrentOperations runs every operation at once (for -race) and
// checks the counts settle to what storage holds.
func TestConcurrentOperations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *expiration.Config) { c.Workers = 3 })
	ctx := context.Background()
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "g", MaxLeases: 1000}); err != nil {
		t.Fatal(err)
	}
	h.rev.setFail(func(_ *expiration.Lease, try int) error {
		if try == 1 && rand.IntN(4) == 0 {
			return fmt.Errorf("flaky")
		}
		return nil
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("database/creds/g%d/%03d", g, i)
				l := h.lease(id, "database/", time.Duration(1+i%5)*time.Minute, time.Hour, fmt.Sprintf("acc-%d", i%3))
				if err := h.m.Register(ctx, l); err != nil {
					t.Error(err)
					return
				}
				switch i % 4 {
				case 0:
					_, _ = h.m.Renew(ctx, id, time.Minute)
				case 1:
					_ = h.m.Revoke(ctx, id)
				case 2:
					_, _ = h.m.Lookup(ctx, id)
				}
				h.clk.Advance(time.Second)
				_ = h.m.Stats()
			}
		})
	}
	wg.Go(func() { _ = h.m.RevokeByToken(ctx, "acc-1") })
	wg.Go(func() { _ = h.m.RevokePrefix(ctx, "database/creds/g3", false) })
	wg.Go(func() { _, _ = h.m.Tidy(ctx) })
	wg.Wait()
	h.clk.Advance(2 * time.Hour)
	eventually(t, "every lease revoked", func() bool {
		h.clk.Advance(5 * time.Second)
		keys, _ := h.m.List(ctx, "database/creds/")
		qs, _ := h.m.GetQuota(ctx, "g")
		return len(keys) == 0 && qs.Count == 0 && len(h.m.Stats().ByMount) == 0
	})
}

// listGate holds the load's listing of one folder after it has read it
// (until release closes), then, once armed, holds every Get of a lease
// record (reporting each on got).
type listGate struct {
	storage.Backend
	folder  string
	listed  chan struct{}
	release chan struct{}
	armed   atomic.Bool
	got     chan struct{}
	open    chan struct{}
}

func (g *listGate) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := g.Backend.List(ctx, prefix)
	if prefix == g.folder {
		close(g.listed)
		<-g.release
	}
	return keys, err
}

func (g *listGate) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if g.armed.Load() && strings.HasPrefix(key, "id/") {
		select {
		case g.got <- struct{}{}:
		default:
		}
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Backend.Get(ctx, key)
}

// TestRevokeDuringListing: a lease revoked after the load listed it but
// before the listing was indexed is not counted against its quota.
func TestRevokeDuringListing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	l := h.register("database/creds/ro/1", "database/", time.Hour, "")
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "ro", Path: "database/creds/ro", MaxLeases: 1}); err != nil {
		t.Fatal(err)
	}
	h.m.Stop()
	g := &listGate{Backend: h.st, folder: "id/database/creds/ro/", listed: make(chan struct{}),
		release: make(chan struct{}), got: make(chan struct{}, 1), open: make(chan struct{})}
	h.m = h.startWith(g)
	<-g.listed
	if err := h.m.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	g.armed.Store(true)
	close(g.release)
	<-g.got // the listing is indexed; the load now reads records
	if qs, _ := h.m.GetQuota(ctx, "ro"); qs.Count != 0 {
		t.Fatalf("quota counts %d leases after the only one was revoked", qs.Count)
	}
	if err := h.registerErr("database/creds/ro/2", "database/"); err != nil {
		t.Fatalf("Register after the revoke = %v", err)
	}
	close(g.open)
	waitLoaded(t, h.m)
}
