package expiration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/expiration"
	"github.com/secretumvault/secretumvault/storage"
)

// TestRevokeByToken: every lease the token created is revoked (by the
// workers, lazily, as Vault), the others are not, and the token's index
// entries go with its leases.
func TestRevokeByToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	var mine []string
	for i := range 3 {
		mine = append(mine, h.register(leaseID("database/", "ro", i), "database/", time.Hour, "acc-parent").ID)
	}
	other := h.register("aws/creds/x/1", "aws/", time.Hour, "acc-other")
	if err := h.m.RevokeByToken(ctx, "acc-parent"); err != nil {
		t.Fatal(err)
	}
	for _, id := range mine {
		eventually(t, "lease of the revoked token revoked", func() bool { return !h.exists(h.m, id) })
	}
	if !h.exists(h.m, other.ID) || h.rev.tryCount(other.ID) != 0 {
		t.Fatal("lease of another token revoked")
	}
	dirs, err := h.st.List(ctx, "token/")
	if err != nil || len(dirs) != 1 {
		t.Fatalf("token index folders = %v, %v; want only the other token's", dirs, err)
	}
	if err := h.m.RevokeByToken(ctx, "acc-parent"); err != nil {
		t.Fatalf("RevokeByToken again = %v", err)
	}
	if err := h.m.RevokeByToken(ctx, ""); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("RevokeByToken(\"\") = %v", err)
	}
}

func TestRevokePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prefix   string
		force    bool
		wantErr  string
		survive  []string // of ro/0, ro/1 (failing), rw/0, aws
		attempts int      // RevokeLease calls on ro/1
	}{
		{"prefix keeps failures", "database/creds/", false, "1 of 3 leases not revoked",
			[]string{"database/creds/ro/0001", "aws/creds/x/0000"}, 1},
		{"force deletes failures", "database/creds", true, "",
			[]string{"aws/creds/x/0000"}, 1},
		{"exact lease id", "database/creds/ro/0000", false, "",
			[]string{"database/creds/ro/0001", "database/creds/rw/0000", "aws/creds/x/0000"}, 0},
		{"segment boundary", "database/creds/r", false, "",
			[]string{"database/creds/ro/0000", "database/creds/ro/0001", "database/creds/rw/0000", "aws/creds/x/0000"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			ids := []string{
				h.register(leaseID("database/", "ro", 0), "database/", time.Hour, "").ID,
				h.register(leaseID("database/", "ro", 1), "database/", time.Hour, "").ID,
				h.register(leaseID("database/", "rw", 0), "database/", time.Hour, "").ID,
				h.register(leaseID("aws/", "x", 0), "aws/", time.Hour, "").ID,
			}
			h.rev.setFail(func(l *expiration.Lease, _ int) error {
				if l.ID == ids[1] {
					return errors.New("user in use")
				}
				return nil
			})
			err := h.m.RevokePrefix(context.Background(), tt.prefix, tt.force)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("RevokePrefix = %v, want %q", err, tt.wantErr)
			}
			for _, id := range ids {
				want := false
				for _, s := range tt.survive {
					want = want || s == id
				}
				if got := h.exists(h.m, id); got != want {
					t.Errorf("%s stored = %v, want %v", id, got, want)
				}
			}
			if n := h.rev.tryCount(ids[1]); n != tt.attempts {
				t.Errorf("backend revocations of the failing lease = %d, want %d", n, tt.attempts)
			}
		})
	}
	h := newHarness(t, nil)
	if err := h.m.RevokePrefix(context.Background(), "", true); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("RevokePrefix(\"\") = %v, want ErrInvalidRequest", err)
	}
}

func TestTidy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	good := h.register("database/creds/ro/good", "database/", time.Hour, "acc")
	gone := h.register("database/creds/ro/gone", "database/", time.Hour, "acc")
	if err := h.st.Delete(ctx, "id/"+gone.ID); err != nil { // its index entry now dangles
		t.Fatal(err)
	}
	corrupt := []*storage.Entry{
		{Key: "id/database/creds/ro/garbage", Value: []byte("{not json")},
		{Key: "id/database/creds/ro/renamed", Value: []byte(`{"lease_id":"database/creds/ro/other"}`)},
	}
	for _, e := range corrupt {
		if err := h.st.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.m.Lookup(ctx, "database/creds/ro/garbage"); !errors.Is(err, expiration.ErrCorrupt) {
		t.Fatalf("Lookup(corrupt) = %v, want ErrCorrupt", err)
	}
	n, err := h.m.Tidy(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Tidy = %d, %v; want 3 removed", n, err)
	}
	keys, _ := h.m.List(ctx, "database/creds/ro/")
	if len(keys) != 1 || keys[0] != "good" {
		t.Fatalf("leases after tidy = %v", keys)
	}
	idx, _ := h.st.List(ctx, "token/")
	entries, _ := h.st.List(ctx, "token/"+idx[0])
	if len(entries) != 1 {
		t.Fatalf("token index entries after tidy = %v, want the good lease's only", entries)
	}
	if err := h.m.RevokeByToken(ctx, "acc"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "good lease revoked through the tidied index", func() bool { return !h.exists(h.m, good.ID) })
	if n, err := h.m.Tidy(ctx); err != nil || n != 0 {
		t.Fatalf("second Tidy = %d, %v; want 0", n, err)
	}
}
