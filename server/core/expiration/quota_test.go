package expiration_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
)

// registerErr registers a lease and returns Register's error.
func (h *harness) registerErr(id, mount string) error {
	return h.m.Register(context.Background(), h.lease(id, mount, time.Hour, time.Hour, ""))
}

// wantQuotaError checks err is a 429 naming quota name.
func wantQuotaError(t *testing.T, err error, name string) {
	t.Helper()
	var qe *expiration.QuotaError
	if !errors.Is(err, logical.ErrRateLimited) || !errors.As(err, &qe) || qe.Name != name ||
		!strings.Contains(err.Error(), `"`+name+`"`) {
		t.Fatalf("Register past the quota = %v, want a QuotaError naming %q", err, name)
	}
}

func TestQuotas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	for _, q := range []expiration.Quota{
		{Name: "global", Path: "", MaxLeases: 3},
		{Name: "db", Path: "database", MaxLeases: 2},
	} {
		if err := h.m.SetQuota(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The mount quota governs database leases; the global one the rest.
	for i := range 2 {
		if err := h.registerErr(leaseID("database/", "ro", i), "database/"); err != nil {
			t.Fatal(err)
		}
	}
	wantQuotaError(t, h.registerErr(leaseID("database/", "ro", 2), "database/"), "db")
	for i := range 3 {
		if err := h.registerErr(leaseID("kv/", "x", i), "kv/"); err != nil {
			t.Fatal(err)
		}
	}
	wantQuotaError(t, h.registerErr(leaseID("kv/", "x", 3), "kv/"), "global")
	if err := h.m.Register(ctx, h.lease(leaseID("kv/", "x", 3), "kv/", time.Hour, time.Hour, ""), expiration.SkipQuota()); err != nil {
		t.Fatalf("Register with SkipQuota = %v", err)
	}
	if qs, err := h.m.GetQuota(ctx, "db"); err != nil || qs.Count != 2 || qs.Path != "database/" || qs.MaxLeases != 2 {
		t.Fatalf("GetQuota(db) = %+v, %v", qs, err)
	}
	if qs, _ := h.m.GetQuota(ctx, "global"); qs.Count != 4 {
		t.Fatalf("global count = %d, want 4 (the exempt lease is counted)", qs.Count)
	}

	// A revoke frees a slot.
	if err := h.m.Revoke(ctx, leaseID("database/", "ro", 0)); err != nil {
		t.Fatal(err)
	}
	if err := h.registerErr(leaseID("database/", "ro", 2), "database/"); err != nil {
		t.Fatalf("Register after a revoke = %v", err)
	}
	wantQuotaError(t, h.registerErr(leaseID("database/", "ro", 3), "database/"), "db")

	// An expiry frees a slot too.
	l := h.lease(leaseID("database/", "ro", 9), "database/", time.Minute, time.Minute, "")
	if err := h.m.Revoke(ctx, leaseID("database/", "ro", 1)); err != nil {
		t.Fatal(err)
	}
	if err := h.m.Register(ctx, l); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	eventually(t, "expired lease frees its slot", func() bool {
		qs, _ := h.m.GetQuota(ctx, "db")
		return qs.Count == 1
	})

	// The counts are rebuilt by the next active node.
	h.m.Stop()
	next := h.start()
	h.m = next
	waitLoaded(t, next)
	for name, want := range map[string]int{"db": 1, "global": 4} {
		if qs, err := next.GetQuota(ctx, name); err != nil || qs.Count != want {
			t.Errorf("after failover GetQuota(%s) = %+v, %v; want count %d", name, qs, err, want)
		}
	}
	wantQuotaError(t, h.registerErr(leaseID("kv/", "x", 4), "kv/"), "global")
	if names, _ := next.ListQuotas(ctx); !slices.Equal(names, []string{"db", "global"}) {
		t.Errorf("ListQuotas = %v", names)
	}

	// Deleting the mount quota puts database leases under the global one.
	if err := next.DeleteQuota(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := next.GetQuota(ctx, "db"); !errors.Is(err, logical.ErrNotFound) {
		t.Errorf("GetQuota(deleted) = %v", err)
	}
	if qs, _ := next.GetQuota(ctx, "global"); qs.Count != 5 {
		t.Errorf("global count after deleting db = %d, want 5", qs.Count)
	}
}

func TestQuotaValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "a", Path: "kv/", MaxLeases: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		q     expiration.Quota
		field string
	}{
		{"no name", expiration.Quota{Path: "x/", MaxLeases: 1}, "name"},
		{"slash in name", expiration.Quota{Name: "a/b", MaxLeases: 1}, "name"},
		{"zero max", expiration.Quota{Name: "b", MaxLeases: 0}, "max_leases"},
		{"same path", expiration.Quota{Name: "b", Path: "/kv", MaxLeases: 5}, "path"},
		{"empty segment", expiration.Quota{Name: "b", Path: "kv//x", MaxLeases: 5}, "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.m.SetQuota(ctx, tt.q)
			var ie *logical.InvalidRequestError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("SetQuota = %v, want an invalid request on %s", err, tt.field)
			}
		})
	}
	// Replacing a quota by name keeps one quota.
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "a", Path: "kv/", MaxLeases: 7}); err != nil {
		t.Fatal(err)
	}
	if names, _ := h.m.ListQuotas(ctx); len(names) != 1 {
		t.Fatalf("ListQuotas = %v", names)
	}
}

// TestQuotaCountsExisting: a quota set over existing leases counts them,
// and may start over its maximum.
func TestQuotaCountsExisting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	for i := range 3 {
		h.register(leaseID("database/", "ro", i), "database/", time.Hour, "")
	}
	h.register(leaseID("database/", "rw", 0), "database/", time.Hour, "")
	if err := h.m.SetQuota(ctx, expiration.Quota{Name: "ro", Path: "database/creds/ro", MaxLeases: 2}); err != nil {
		t.Fatal(err)
	}
	if qs, _ := h.m.GetQuota(ctx, "ro"); qs.Count != 3 {
		t.Fatalf("count = %d, want 3", qs.Count)
	}
	wantQuotaError(t, h.registerErr(leaseID("database/", "ro", 3), "database/"), "ro")
	if err := h.registerErr(leaseID("database/", "rw", 1), "database/"); err != nil {
		t.Fatalf("lease outside the quota's path refused: %v", err)
	}
}
