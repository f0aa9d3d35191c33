package expiration_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
)

func TestExtend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	l := h.register("auth/token/create/h1", "auth/token/", 10*time.Minute, "")
	if err := h.m.Extend(ctx, l.ID, h.clk.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := h.m.Lookup(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.clk.Now().Add(30 * time.Minute); !got.ExpireTime.Equal(want) || !got.LastRenewalTime.Equal(h.clk.Now()) {
		t.Fatalf("after Extend: expire %v renewed %v, want %v", got.ExpireTime, got.LastRenewalTime, want)
	}
	if h.rev.renews != nil {
		t.Fatal("Extend asked the Revoker to renew")
	}
	// Capped at the max expire time (4 × ttl from issue).
	if err := h.m.Extend(ctx, l.ID, h.clk.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.m.Lookup(ctx, l.ID); !got.ExpireTime.Equal(l.MaxExpireTime) {
		t.Fatalf("Extend past the max: expire %v, want %v", got.ExpireTime, l.MaxExpireTime)
	}
	sentinel := h.register("database/creds/ro/sentinel", "database/", 10*time.Minute, "")
	h.clk.Advance(11 * time.Minute)
	eventually(t, "sentinel revoked", func() bool { return h.rev.revokedCount(sentinel.ID) == 1 })
	if h.rev.tryCount(l.ID) != 0 {
		t.Fatal("extended lease revoked at its old expiry")
	}
	h.clk.Advance(30 * time.Minute)
	eventually(t, "extended lease revoked at its new expiry", func() bool { return !h.exists(h.m, l.ID) })
	if err := h.m.Extend(ctx, "auth/token/create/absent", h.clk.Now()); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("Extend(absent) = %v, want not found", err)
	}
}

// Forget from inside the revocation of the same lease returns at once
// (the revocation deletes it); of another lease it deletes that lease
// without revoking it — never deadlocking on a lock the caller holds.
func TestForgetInsideRevocation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	a := h.register("auth/token/create/ha", "auth/token/", time.Hour, "")
	b := h.register("auth/token/create/hb", "auth/token/", time.Hour, "")
	errs := make(chan error, 2)
	h.rev.during = func(ctx context.Context, l *expiration.Lease) {
		if l.ID == a.ID {
			errs <- h.m.Forget(ctx, a.ID)
			errs <- h.m.Forget(ctx, b.ID)
		}
	}
	done := make(chan error, 1)
	go func() { done <- h.m.Revoke(ctx, a.ID) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Revoke deadlocked on a Forget from inside its revocation")
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Forget: %v", err)
		}
	}
	if h.exists(h.m, a.ID) || h.exists(h.m, b.ID) {
		t.Fatal("a forgotten or revoked lease is still stored")
	}
	if h.rev.tryCount(b.ID) != 0 {
		t.Fatal("Forget revoked the lease")
	}
	if st := h.m.Stats(); st.ByMount["auth/token/"] != 0 {
		t.Fatalf("Stats after Forget = %v", st.ByMount)
	}
	if err := h.m.Forget(ctx, "auth/token/create/absent"); err != nil {
		t.Fatalf("Forget(absent) = %v", err)
	}
}
