package expiration_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/core/expiration"
)

// TestExpiryRevokesOnTime: a lease is revoked once the clock passes its
// expiry, not before (a sentinel due earlier proves the scheduler ran).
func TestExpiryRevokesOnTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	l := h.register("database/creds/ro/1", "database/", 10*time.Minute, "")
	sentinel := h.register("database/creds/ro/0", "database/", 5*time.Minute, "")
	h.clk.Advance(9 * time.Minute)
	eventually(t, "sentinel revoked", func() bool { return h.rev.revokedCount(sentinel.ID) == 1 })
	if h.rev.tryCount(l.ID) != 0 {
		t.Fatal("lease revoked before its expiry")
	}
	h.clk.Advance(time.Minute)
	eventually(t, "lease revoked at expiry", func() bool { return !h.exists(h.m, l.ID) })
	if n := h.rev.revokedCount(l.ID); n != 1 {
		t.Fatalf("revoked %d times, want 1", n)
	}
	eventually(t, "lease uncounted", func() bool {
		st := h.m.Stats()
		return len(st.ByMount) == 0 && st.Irrevocable == 0
	})
}

// TestRetriesThenIrrevocable: a lease whose revocation keeps failing is
// retried with growing delays, then marked irrevocable with its last
// error, counted, shown by Lookup and never deleted; a later successful
// Revoke removes it.
func TestRetriesThenIrrevocable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *expiration.Config) { c.MaxAttempts = 4 })
	ctx := context.Background()
	h.rev.setFail(func(_ *expiration.Lease, try int) error {
		return fmt.Errorf("connection refused (try %d)", try)
	})
	l := h.register("database/creds/ro/1", "database/", time.Minute, "")
	h.clk.Advance(time.Minute)
	// BaseBackoff 1s, MaxBackoff 4s: delays 1, 2, 4 s, less up to 20%.
	for attempt, delay := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		var got *expiration.Lease
		eventually(t, fmt.Sprintf("attempt %d recorded", attempt+1), func() bool {
			got, _ = h.m.Lookup(ctx, l.ID)
			return got != nil && got.Attempts == attempt+1
		})
		now := h.clk.Now()
		wait := got.NextAttempt.Sub(now)
		if wait > delay || wait < delay*8/10 {
			t.Errorf("attempt %d: next attempt in %v, want %v less up to 20%%", attempt+1, wait, delay)
		}
		if want := fmt.Sprintf("connection refused (try %d)", attempt+1); got.LastError != want || got.Irrevocable {
			t.Errorf("attempt %d: LastError %q irrevocable %v", attempt+1, got.LastError, got.Irrevocable)
		}
		h.clk.Advance(wait)
	}
	var got *expiration.Lease
	eventually(t, "irrevocable", func() bool {
		got, _ = h.m.Lookup(ctx, l.ID)
		return got != nil && got.Irrevocable
	})
	if got.Attempts != 4 || got.LastError != "connection refused (try 4)" || !got.NextAttempt.IsZero() {
		t.Errorf("irrevocable lease = attempts %d, error %q, next %v", got.Attempts, got.LastError, got.NextAttempt)
	}
	eventually(t, "irrevocable lease counted", func() bool { return h.m.Stats().Irrevocable == 1 })
	if st := h.m.Stats(); st.ByMount["database/"] != 1 {
		t.Errorf("Stats = %+v, want the irrevocable lease still counted by mount", st)
	}
	if ids := h.m.IrrevocableIDs(); len(ids) != 1 || ids[0] != l.ID {
		t.Errorf("IrrevocableIDs = %v", ids)
	}
	sentinel := h.register("database/creds/ro/2", "database/", time.Minute, "")
	h.rev.setFail(func(l *expiration.Lease, try int) error {
		if l.ID == sentinel.ID {
			return nil
		}
		return errors.New("still down")
	})
	h.clk.Advance(time.Hour)
	eventually(t, "sentinel revoked", func() bool { return h.rev.revokedCount(sentinel.ID) == 1 })
	if n := h.rev.tryCount(l.ID); n != 4 || !h.exists(h.m, l.ID) {
		t.Fatalf("irrevocable lease tried %d times (want 4) or deleted", n)
	}
	if _, err := h.m.Renew(ctx, l.ID, time.Hour); err == nil {
		t.Error("renewed an irrevocable lease")
	}
	if err := h.m.Revoke(ctx, l.ID); err == nil || !strings.Contains(err.Error(), "still down") {
		t.Errorf("Revoke(irrevocable, backend down) = %v", err)
	}
	h.rev.setFail(nil)
	if err := h.m.Revoke(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if h.exists(h.m, l.ID) || h.m.Stats().Irrevocable != 0 || len(h.m.IrrevocableIDs()) != 0 {
		t.Error("revoked irrevocable lease still stored or counted")
	}
}

// TestRevokerRecovers: two failures, then success: the lease is deleted
// and never marked irrevocable.
func TestRevokerRecovers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.rev.setFail(func(_ *expiration.Lease, try int) error {
		if try <= 2 {
			return errors.New("timeout")
		}
		return nil
	})
	l := h.register("database/creds/ro/1", "database/", time.Minute, "")
	h.clk.Advance(time.Minute)
	eventually(t, "revoked after retries", func() bool {
		h.clk.Advance(time.Second) // past every backoff in turn
		return !h.exists(h.m, l.ID)
	})
	if tries, ok := h.rev.tryCount(l.ID), h.rev.revokedCount(l.ID); tries != 3 || ok != 1 {
		t.Fatalf("tries %d, successes %d; want 3 and 1", tries, ok)
	}
	if st := h.m.Stats(); st.Irrevocable != 0 {
		t.Fatalf("Irrevocable = %d", st.Irrevocable)
	}
}

// TestFailover: a new active node over the same storage keeps the
// leases' timers and promptly revokes those that expired while no node
// was active; the same Manager restarted does too.
func TestFailover(t *testing.T) {
	t.Parallel()
	for _, sameManager := range []bool{false, true} {
		t.Run(fmt.Sprintf("same manager %v", sameManager), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			long := h.register("database/creds/ro/long", "database/", time.Hour, "")
			short := h.register("database/creds/ro/short", "database/", 10*time.Minute, "")
			h.m.Stop()
			h.clk.Advance(20 * time.Minute) // short expires while no node is active
			m := h.m
			if sameManager {
				if err := m.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				m = h.start()
			}
			eventually(t, "expired lease revoked after election", func() bool { return !h.exists(m, short.ID) })
			waitLoaded(t, m)
			if !h.exists(m, long.ID) || h.rev.tryCount(long.ID) != 0 {
				t.Fatal("lease still valid was revoked")
			}
			eventually(t, "one lease counted after load", func() bool {
				st := m.Stats()
				return st.Loaded && st.ByMount["database/"] == 1
			})
			h.clk.Advance(40 * time.Minute)
			eventually(t, "restored timer fired", func() bool { return !h.exists(m, long.ID) })
		})
	}
}

// TestStopCancelsInFlight: Stop cancels a revocation in flight without
// counting it as a failure; the next active node revokes the lease.
func TestStopCancelsInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.rev.gate = make(chan struct{})
	l := h.register("database/creds/ro/1", "database/", time.Minute, "")
	h.clk.Advance(time.Minute)
	select {
	case <-h.rev.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("revocation did not start")
	}
	stopped := make(chan struct{})
	go func() { h.m.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return with a revocation in flight")
	}
	if n := h.rev.revokedCount(l.ID); n != 0 {
		t.Fatalf("cancelled revocation reported success %d times", n)
	}
	next := h.start() // its revocation waits at the gate too
	got, err := next.Lookup(context.Background(), l.ID)
	if err != nil {
		t.Fatalf("lease lost by Stop: %v", err)
	}
	if got.Attempts != 0 || got.LastError != "" {
		t.Errorf("cancelled revocation counted: attempts %d, error %q", got.Attempts, got.LastError)
	}
	close(h.rev.gate)
	eventually(t, "revoked by the next active node", func() bool { return !h.exists(next, l.ID) })
}
