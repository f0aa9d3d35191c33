package token_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

func TestTTLExpiry(t *testing.T) {
	h := newHarness(t, token.Options{})
	raw, auth := h.create(h.root, map[string]any{"ttl": "1h"})
	if auth.LeaseDuration != 3600 {
		t.Fatalf("lease_duration = %d", auth.LeaseDuration)
	}
	h.clock.Advance(59 * time.Minute)
	resp := h.mustDo(h.root, logical.UpdateOperation, "lookup", map[string]any{"token": raw})
	if resp.Data["ttl"] != int64(60) {
		t.Fatalf("ttl after 59m = %v", resp.Data["ttl"])
	}
	h.clock.Advance(time.Minute)
	if _, err := h.store.Authenticate(h.ctx, raw); err == nil {
		t.Fatal("expired token authenticated")
	} else {
		wantErr(t, err, token.ErrInvalidToken)
		wantErr(t, err, logical.ErrPermissionDenied)
	}
	_, err := h.do(h.root, logical.UpdateOperation, "lookup", map[string]any{"token": raw})
	wantErr(t, err, logical.ErrPermissionDenied)
	_, err = h.do(h.root, logical.UpdateOperation, "lookup-accessor", map[string]any{"accessor": auth.Accessor})
	wantErr(t, err, logical.ErrInvalidRequest)

	n, err := h.store.Tidy(h.ctx)
	if err != nil || n != 1 {
		t.Fatalf("Tidy = %d, %v; want 1", n, err)
	}
	if got := h.countPrefix("sys/token/id/"); got != 1 { // the root token
		t.Fatalf("%d token entries left, want 1", got)
	}
	if got := h.countPrefix("sys/token/accessor/"); got != 1 {
		t.Fatalf("%d accessor entries left, want 1", got)
	}
	if h.valid(h.root) != true {
		t.Fatal("root token lost")
	}
}

func TestDefaultAndMaxTTL(t *testing.T) {
	tests := []struct {
		name      string
		opts      token.Options
		data      map[string]any
		wantLease int
		wantWarn  bool
	}{
		{"default ttl", token.Options{DefaultTTL: 2 * time.Hour}, map[string]any{"policies": "p"}, 7200, false},
		{"seconds as string", token.Options{}, map[string]any{"ttl": "90"}, 90, false},
		{"days", token.Options{}, map[string]any{"ttl": "2d"}, 48 * 3600, false},
		{"capped by system max", token.Options{MaxTTL: 3 * time.Hour, DefaultTTL: time.Hour}, map[string]any{"ttl": "10h"}, 3 * 3600, true},
		{"capped by explicit max", token.Options{}, map[string]any{"ttl": "10h", "explicit_max_ttl": "2h"}, 7200, true},
		{"periodic", token.Options{}, map[string]any{"period": "15m", "ttl": "10h"}, 900, false},
		{"root policy without ttl never expires", token.Options{}, map[string]any{"policies": "root"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts)
			resp := h.mustDo(h.root, logical.UpdateOperation, "create", tt.data)
			if resp.Auth.LeaseDuration != tt.wantLease || (len(resp.Warnings) > 0) != tt.wantWarn {
				t.Fatalf("lease %d warnings %v; want %d, warn %v", resp.Auth.LeaseDuration, resp.Warnings, tt.wantLease, tt.wantWarn)
			}
		})
	}
}

// tree builds root -> a -> b -> c plus a sibling a2 of a.
func tree(t *testing.T, h *harness, ttl string) (a, b, c, a2 string) {
	t.Helper()
	a, _ = h.create(h.root, map[string]any{"policies": "p", "ttl": ttl})
	b, _ = h.create(a, map[string]any{"ttl": "10h"})
	c, _ = h.create(b, map[string]any{"ttl": "10h"})
	a2, _ = h.create(h.root, map[string]any{"policies": "p"})
	return a, b, c, a2
}

func TestCascadeRevoke(t *testing.T) {
	tests := []struct {
		name   string
		revoke func(h *harness, a string)
	}{
		{"Revoke", func(h *harness, a string) {
			if err := h.store.Revoke(h.ctx, a); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoke path", func(h *harness, a string) {
			h.mustDo(h.root, logical.UpdateOperation, "revoke", map[string]any{"token": a})
		}},
		{"revoke-self", func(h *harness, a string) {
			h.mustDo(a, logical.UpdateOperation, "revoke-self", nil)
		}},
		{"revoke-accessor", func(h *harness, a string) {
			e, err := h.store.Lookup(h.ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			h.mustDo(h.root, logical.UpdateOperation, "revoke-accessor", map[string]any{"accessor": e.Accessor})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, token.Options{})
			a, b, c, a2 := tree(t, h, "10h")
			tt.revoke(h, a)
			for name, raw := range map[string]string{"a": a, "b": b, "c": c} {
				if h.valid(raw) {
					t.Errorf("%s survived the revocation of a", name)
				}
			}
			if !h.valid(a2) || !h.valid(h.root) {
				t.Fatal("revocation reached outside the subtree")
			}
			if got := h.countPrefix("sys/token/id/"); got != 2 {
				t.Fatalf("%d token entries, want 2", got)
			}
			if got := h.countPrefix("sys/token/parent/"); got != 1 { // root -> a2
				t.Fatalf("%d parent links, want 1", got)
			}
		})
	}
}

func TestAncestorExpiryKillsDescendants(t *testing.T) {
	h := newHarness(t, token.Options{})
	a, b, c, a2 := tree(t, h, "1h")
	h.clock.Advance(time.Hour)
	for name, raw := range map[string]string{"a": a, "b": b, "c": c} {
		if h.valid(raw) {
			t.Errorf("%s valid after a expired", name)
		}
	}
	if !h.valid(a2) {
		t.Fatal("sibling died")
	}
	n, err := h.store.Tidy(h.ctx)
	if err != nil || n != 3 {
		t.Fatalf("Tidy = %d, %v; want 3", n, err)
	}
	if got := h.countPrefix("sys/token/parent/"); got != 1 {
		t.Fatalf("%d parent links left, want 1", got)
	}
}

func TestRevokeOrphanKeepsChildren(t *testing.T) {
	h := newHarness(t, token.Options{})
	a, b, c, _ := tree(t, h, "10h")
	h.mustDo(h.root, logical.UpdateOperation, "revoke-orphan", map[string]any{"token": a})
	if h.valid(a) || !h.valid(b) || !h.valid(c) {
		t.Fatalf("valid a=%v b=%v c=%v; want false true true", h.valid(a), h.valid(b), h.valid(c))
	}
	resp := h.mustDo(h.root, logical.UpdateOperation, "lookup", map[string]any{"token": b})
	if resp.Data["orphan"] != true {
		t.Fatal("b is not an orphan")
	}
	// b's own subtree still cascades.
	h.mustDo(h.root, logical.UpdateOperation, "revoke", map[string]any{"token": b})
	if h.valid(c) {
		t.Fatal("c survived revocation of b")
	}
}

func TestRenew(t *testing.T) {
	tests := []struct {
		name      string
		create    map[string]any
		opts      token.Options
		advance   time.Duration
		increment any
		wantLease int
		wantWarn  bool
		wantErr   string
	}{
		{"plain", map[string]any{"ttl": "1h"}, token.Options{}, 30 * time.Minute, "3h", 3 * 3600, false, ""},
		{"caps at explicit_max_ttl", map[string]any{"ttl": "1h", "explicit_max_ttl": "2h"}, token.Options{}, 30 * time.Minute, "5h", 5400, true, ""},
		{"caps at system max", map[string]any{"ttl": "1h"}, token.Options{MaxTTL: 4 * time.Hour, DefaultTTL: time.Hour}, 30 * time.Minute, 36000, 12600, true, ""},
		{"periodic resets to period", map[string]any{"period": "20m"}, token.Options{}, 10 * time.Minute, "5h", 1200, false, ""},
		{"not renewable", map[string]any{"ttl": "1h", "renewable": false}, token.Options{}, 0, "1h", 0, false, "lease is not renewable"},
		{"root token not renewable", map[string]any{"policies": "root"}, token.Options{}, 0, "1h", 0, false, "lease is not renewable"},
		{"negative increment", map[string]any{"ttl": "1h"}, token.Options{}, 0, "-5", 0, false, "increment: increment must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts)
			raw, _ := h.create(h.root, tt.create)
			h.clock.Advance(tt.advance)
			resp, err := h.do(h.root, logical.UpdateOperation, "renew", map[string]any{"token": raw, "increment": tt.increment})
			if tt.wantErr != "" {
				wantErr(t, err, logical.ErrInvalidRequest)
				if err.Error() != tt.wantErr {
					t.Fatalf("error %q, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Auth.LeaseDuration != tt.wantLease || (len(resp.Warnings) > 0) != tt.wantWarn {
				t.Fatalf("lease %d warnings %v; want %d warn %v", resp.Auth.LeaseDuration, resp.Warnings, tt.wantLease, tt.wantWarn)
			}
			h.clock.Advance(time.Duration(tt.wantLease)*time.Second - time.Second)
			if !h.valid(raw) {
				t.Fatal("token dead before its renewed expiry")
			}
			h.clock.Advance(time.Second)
			if h.valid(raw) {
				t.Fatal("token alive after its renewed expiry")
			}
		})
	}
}

func TestNumUses(t *testing.T) {
	h := newHarness(t, token.Options{})
	raw, auth := h.create(h.root, map[string]any{"policies": "p", "num_uses": 3})
	if auth.NumUses != 3 {
		t.Fatalf("num_uses = %d", auth.NumUses)
	}
	for want := 2; want >= 0; want-- {
		e, err := h.store.Authenticate(h.ctx, raw)
		if err != nil {
			t.Fatalf("use %d: %v", 3-want, err)
		}
		if e.NumUses != want {
			t.Fatalf("NumUses = %d, want %d", e.NumUses, want)
		}
	}
	_, err := h.store.Authenticate(h.ctx, raw)
	wantErr(t, err, token.ErrInvalidToken)
	if got := h.countPrefix("sys/token/id/"); got != 1 {
		t.Fatalf("exhausted token still stored (%d entries)", got)
	}

	t.Run("limited token cannot create children", func(t *testing.T) {
		lim, _ := h.create(h.root, map[string]any{"policies": "p", "num_uses": 5})
		_, err := h.do(lim, logical.UpdateOperation, "create", nil)
		wantErr(t, err, logical.ErrInvalidRequest)
	})
	t.Run("last use can still look itself up", func(t *testing.T) {
		one, _ := h.create(h.root, map[string]any{"policies": "p", "num_uses": 1})
		resp := h.mustDo(one, logical.ReadOperation, "lookup-self", nil)
		if resp.Data["id"] != one || resp.Data["num_uses"] != 0 {
			t.Fatalf("data = %v", resp.Data)
		}
		if h.valid(one) {
			t.Fatal("token alive after its last use")
		}
	})
	t.Run("concurrent uses are counted exactly", func(t *testing.T) {
		const uses, workers = 40, 100
		lim, _ := h.create(h.root, map[string]any{"policies": "p", "num_uses": uses})
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				if _, err := h.store.Authenticate(h.ctx, lim); err == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		if ok.Load() != uses {
			t.Fatalf("%d successful uses, want %d", ok.Load(), uses)
		}
	})
}

func TestPolicyRules(t *testing.T) {
	h := newHarness(t, token.Options{})
	parent, _ := h.create(h.root, map[string]any{"policies": []any{"a", "b"}})
	noDefault, _ := h.create(h.root, map[string]any{"policies": []any{"a"}, "no_default_policy": true})
	tests := []struct {
		name    string
		caller  string
		path    string
		data    map[string]any
		want    []string
		wantErr string
	}{
		{"subset", parent, "create", map[string]any{"policies": "a"}, []string{"a", "default"}, ""},
		{"inherit", parent, "create", nil, []string{"a", "b", "default"}, ""},
		{"no_default_policy", parent, "create", map[string]any{"policies": "a", "no_default_policy": true}, []string{"a"}, ""},
		{"parent without default passes none", noDefault, "create", map[string]any{"policies": "a"}, []string{"a"}, ""},
		{"not a subset", parent, "create", map[string]any{"policies": "a,c"}, nil, "child policies must be subset of parent"},
		{"root policy from non-root", parent, "create", map[string]any{"policies": "root"}, nil, "child policies must be subset of parent"},
		{"no_parent needs root", parent, "create", map[string]any{"no_parent": true}, nil, "root or sudo privileges required to create orphan token"},
		{"period needs root", parent, "create", map[string]any{"period": "1h"}, nil, "root or sudo privileges required to create periodic token"},
		{"id needs root", parent, "create", map[string]any{"id": "mine"}, nil, "root or sudo privileges required to specify token id"},
		{"root may grant anything", h.root, "create", map[string]any{"policies": "z"}, []string{"default", "z"}, ""},
		{"root no_parent", h.root, "create", map[string]any{"policies": "z", "no_parent": true}, []string{"default", "z"}, ""},
		{"create-orphan still checks subset", parent, "create-orphan", map[string]any{"policies": "c"}, nil, "child policies must be subset of parent"},
		{"batch unsupported", h.root, "create", map[string]any{"type": "batch"}, nil, "type: only service tokens are supported"},
		{"negative num_uses", h.root, "create", map[string]any{"num_uses": -1}, nil, "number of uses cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.do(tt.caller, logical.UpdateOperation, tt.path, tt.data)
			if tt.wantErr != "" {
				wantErr(t, err, logical.ErrInvalidRequest)
				if err.Error() != tt.wantErr {
					t.Fatalf("error %q, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(resp.Auth.Policies, tt.want) {
				t.Fatalf("policies = %v, want %v", resp.Auth.Policies, tt.want)
			}
		})
	}
}

func TestCustomID(t *testing.T) {
	h := newHarness(t, token.Options{})
	raw, _ := h.create(h.root, map[string]any{"id": "my-fixed-token", "policies": "p"})
	if raw != "my-fixed-token" || !h.valid(raw) {
		t.Fatalf("custom id: got %q", raw)
	}
	_, err := h.do(h.root, logical.UpdateOperation, "create", map[string]any{"id": "my-fixed-token"})
	wantErr(t, err, logical.ErrInvalidRequest)
	_, err = h.do(h.root, logical.UpdateOperation, "create", map[string]any{"id": "a.b"})
	wantErr(t, err, logical.ErrInvalidRequest)
}

func TestExpiringRootCannotMintEternalRoot(t *testing.T) {
	h := newHarness(t, token.Options{})
	expiringRoot, _ := h.create(h.root, map[string]any{"policies": "root", "ttl": "1h"})
	_, err := h.do(expiringRoot, logical.UpdateOperation, "create", map[string]any{"policies": "root"})
	wantErr(t, err, logical.ErrInvalidRequest)
	if !strings.Contains(fmt.Sprint(err), "expiring root tokens") {
		t.Fatalf("err = %v", err)
	}
}
