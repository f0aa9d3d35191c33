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
	"github.com/secretumvault/secretumvault/storage/inmem"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	base := func() expiration.Config {
		c := expiration.DefaultConfig()
		c.Storage, c.Revoker = inmem.New(), newRevoker()
		return c
	}
	tests := []struct {
		name  string
		edit  func(*expiration.Config)
		field string
	}{
		{"no storage", func(c *expiration.Config) { c.Storage = nil }, "Storage"},
		{"no revoker", func(c *expiration.Config) { c.Revoker = nil }, "Revoker"},
		{"no clock", func(c *expiration.Config) { c.Now = nil }, "Now"},
		{"no logger", func(c *expiration.Config) { c.Logger = nil }, "Logger"},
		{"no attempts", func(c *expiration.Config) { c.MaxAttempts = 0 }, "MaxAttempts"},
		{"negative backoff", func(c *expiration.Config) { c.BaseBackoff = -1 }, "BaseBackoff"},
		{"max below base", func(c *expiration.Config) { c.MaxBackoff = c.BaseBackoff / 2 }, "MaxBackoff"},
		{"no workers", func(c *expiration.Config) { c.Workers = 0 }, "Workers"},
		{"no revoke timeout", func(c *expiration.Config) { c.RevokeTimeout = 0 }, "RevokeTimeout"},
		{"no poll interval", func(c *expiration.Config) { c.PollInterval = 0 }, "PollInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), "Config."+tt.field) {
				t.Fatalf("Validate() = %v, want an error naming Config.%s", err, tt.field)
			}
		})
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(defaults) = %v", err)
	}
	if _, err := expiration.New(expiration.Config{Revoker: newRevoker()}); err == nil {
		t.Fatal("New without storage succeeded")
	}
	if _, err := expiration.New(expiration.Config{Storage: inmem.New(), Revoker: newRevoker()}); err != nil {
		t.Fatalf("New with zero optional fields: %v", err)
	}
}

func TestNotActive(t *testing.T) {
	t.Parallel()
	m, err := expiration.New(expiration.Config{Storage: inmem.New(), Revoker: newRevoker()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := &harness{t: t, clk: newClock()}
	ops := map[string]func() error{
		"Register":      func() error { return m.Register(ctx, h.lease("kv/x/1", "kv/", time.Hour, time.Hour, "")) },
		"Lookup":        func() error { _, err := m.Lookup(ctx, "kv/x/1"); return err },
		"List":          func() error { _, err := m.List(ctx, ""); return err },
		"Renew":         func() error { _, err := m.Renew(ctx, "kv/x/1", 0); return err },
		"Revoke":        func() error { return m.Revoke(ctx, "kv/x/1") },
		"RevokePrefix":  func() error { return m.RevokePrefix(ctx, "kv/", false) },
		"RevokeByToken": func() error { return m.RevokeByToken(ctx, "acc") },
		"Tidy":          func() error { _, err := m.Tidy(ctx); return err },
		"SetQuota":      func() error { return m.SetQuota(ctx, expiration.Quota{Name: "q", MaxLeases: 1}) },
		"GetQuota":      func() error { _, err := m.GetQuota(ctx, "q"); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, expiration.ErrNotActive) || !errors.Is(err, logical.ErrUnavailable) {
			t.Errorf("%s before Start = %v, want ErrNotActive (503)", name, err)
		}
	}
	if st := m.Stats(); st.Loaded || len(st.ByMount) != 0 {
		t.Errorf("Stats before Start = %+v", st)
	}
}

func TestRegisterLookupList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	want := h.register("database/creds/ro/0001", "database/", time.Hour, "acc-1")
	h.register("database/creds/ro/0002", "database/", time.Hour, "")
	h.register("database/creds/rw/0001", "database/", time.Hour, "")
	h.register("aws/creds/deploy/0001", "aws/", time.Hour, "")

	got, err := h.m.Lookup(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got.ID != want.ID || got.MountPoint != "database/" || got.Path != "database/creds/ro":
		t.Errorf("Lookup ids = %q %q %q", got.ID, got.MountPoint, got.Path)
	case !got.ExpireTime.Equal(want.ExpireTime) || !got.MaxExpireTime.Equal(want.MaxExpireTime) || !got.IssueTime.Equal(want.IssueTime):
		t.Errorf("Lookup times = %v %v %v, want %v %v %v", got.IssueTime, got.ExpireTime, got.MaxExpireTime,
			want.IssueTime, want.ExpireTime, want.MaxExpireTime)
	case got.Secret.Type != "creds" || got.Secret.InternalData["username"] != "v-0001" || got.Secret.LeaseID != want.ID:
		t.Errorf("Lookup secret = %+v", got.Secret)
	case got.ClientTokenAccessor != "acc-1" || !got.Renewable || got.Irrevocable || got.TTL(h.clk.Now()) != time.Hour:
		t.Errorf("Lookup = %+v", got)
	}

	lists := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"aws/", "database/"}},
		{"database", []string{"creds/"}},
		{"database/creds/", []string{"ro/", "rw/"}},
		{"database/creds/ro/", []string{"0001", "0002"}},
		{"nothing/", []string{}},
	}
	for _, tt := range lists {
		keys, err := h.m.List(ctx, tt.prefix)
		if err != nil || !slices.Equal(keys, tt.want) {
			t.Errorf("List(%q) = %v, %v; want %v", tt.prefix, keys, err, tt.want)
		}
	}
	if _, err := h.m.Lookup(ctx, "database/creds/ro/9999"); !errors.Is(err, logical.ErrNotFound) {
		t.Errorf("Lookup(absent) = %v, want ErrNotFound", err)
	}
	if err := h.m.Register(ctx, want); !errors.Is(err, expiration.ErrInvalidLease) {
		t.Errorf("Register(duplicate) = %v, want ErrInvalidLease", err)
	}
	if st := h.m.Stats(); st.ByMount["database/"] != 3 || st.ByMount["aws/"] != 1 {
		t.Errorf("Stats().ByMount = %v", st.ByMount)
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	a, b := expiration.NewID("database/creds/ro"), expiration.NewID("/database/creds/ro/")
	if !strings.HasPrefix(a, "database/creds/ro/") || !strings.HasPrefix(b, "database/creds/ro/") || a == b {
		t.Fatalf("NewID = %q, %q", a, b)
	}
	if n := len(a) - len("database/creds/ro/"); n != 26 {
		t.Fatalf("random part has %d chars, want 26", n)
	}
	h := newHarness(t, nil)
	if err := h.m.Register(context.Background(), h.lease(a, "database/", time.Hour, time.Hour, "")); err != nil {
		t.Fatalf("Register(NewID) = %v", err)
	}
}

func TestRegisterInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name string
		edit func(*expiration.Lease)
	}{
		{"empty id", func(l *expiration.Lease) { l.ID = "" }},
		{"leading slash", func(l *expiration.Lease) { l.ID = "/" + l.ID }},
		{"trailing slash", func(l *expiration.Lease) { l.ID += "/" }},
		{"empty segment", func(l *expiration.Lease) { l.ID = "kv/a//b" }},
		{"nul", func(l *expiration.Lease) { l.ID = "kv/a\x00b" }},
		{"mount without slash", func(l *expiration.Lease) { l.MountPoint = "kv" }},
		{"other mount", func(l *expiration.Lease) { l.MountPoint = "database/" }},
		{"no secret", func(l *expiration.Lease) { l.Secret = nil }},
		{"no expiry", func(l *expiration.Lease) { l.ExpireTime = time.Time{} }},
		{"expiry past max", func(l *expiration.Lease) { l.ExpireTime = l.MaxExpireTime.Add(time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := h.lease("kv/creds/x/1", "kv/", time.Hour, time.Hour, "")
			tt.edit(l)
			if err := h.m.Register(context.Background(), l); !errors.Is(err, expiration.ErrInvalidLease) {
				t.Fatalf("Register = %v, want ErrInvalidLease", err)
			}
		})
	}
	if err := h.m.Register(context.Background(), nil); !errors.Is(err, expiration.ErrInvalidLease) {
		t.Fatalf("Register(nil) = %v", err)
	}
	if keys, _ := h.m.List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("invalid leases stored: %v", keys)
	}
}

func TestRenew(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	l := h.lease("database/creds/ro/1", "database/", time.Hour, 3*time.Hour, "")
	if err := h.m.Register(ctx, l); err != nil {
		t.Fatal(err)
	}
	fixed := h.lease("database/creds/ro/2", "database/", time.Hour, 3*time.Hour, "")
	fixed.Renewable = false
	if err := h.m.Register(ctx, fixed); err != nil {
		t.Fatal(err)
	}

	now := h.clk.Advance(30 * time.Minute)
	got, err := h.m.Renew(ctx, l.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpireTime.Equal(now.Add(time.Hour)) || !got.LastRenewalTime.Equal(now) {
		t.Errorf("renewed expire = %v (renewed %v), want %v", got.ExpireTime, got.LastRenewalTime, now.Add(time.Hour))
	}
	if stored, _ := h.m.Lookup(ctx, l.ID); !stored.ExpireTime.Equal(got.ExpireTime) {
		t.Errorf("stored expire = %v, want %v", stored.ExpireTime, got.ExpireTime)
	}
	if got, err = h.m.Renew(ctx, l.ID, 10*time.Hour); err != nil || !got.ExpireTime.Equal(l.MaxExpireTime) {
		t.Errorf("Renew(10h) = %v, %v; want capped at max %v", got, err, l.MaxExpireTime)
	}
	h.rev.grant = 20 * time.Minute // the engine grants less than asked
	if got, err = h.m.Renew(ctx, l.ID, time.Hour); err != nil || !got.ExpireTime.Equal(now.Add(20*time.Minute)) {
		t.Errorf("Renew granted 20m = %v, %v", got, err)
	}
	h.rev.grant = 0
	if h.rev.renews[0] != time.Hour || h.rev.renews[1] != 10*time.Hour {
		t.Errorf("RenewLease increments = %v", h.rev.renews)
	}

	bad := []struct {
		name, id string
		inc      time.Duration
		want     error
	}{
		{"not renewable", fixed.ID, time.Hour, logical.ErrInvalidRequest},
		{"negative increment", l.ID, -time.Second, logical.ErrInvalidRequest},
		{"absent", "database/creds/ro/404", time.Hour, logical.ErrNotFound},
	}
	for _, tt := range bad {
		if _, err := h.m.Renew(ctx, tt.id, tt.inc); !errors.Is(err, tt.want) {
			t.Errorf("Renew %s = %v, want %v", tt.name, err, tt.want)
		}
	}
	before, _ := h.m.Lookup(ctx, l.ID)
	h.rev.renewErr = errors.New("database unreachable")
	if _, err := h.m.Renew(ctx, l.ID, time.Hour); err == nil || !strings.Contains(err.Error(), "database unreachable") {
		t.Errorf("Renew with failing backend = %v", err)
	}
	h.rev.renewErr = nil
	if after, _ := h.m.Lookup(ctx, l.ID); !after.ExpireTime.Equal(before.ExpireTime) {
		t.Errorf("failed renew moved the expiry: %v -> %v", before.ExpireTime, after.ExpireTime)
	}
	h.clk.Advance(3 * time.Hour)
	if _, err := h.m.Renew(ctx, l.ID, time.Hour); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Errorf("Renew after expiry = %v, want ErrInvalidRequest", err)
	}
}

// TestRenewReschedules: a renewed lease is not revoked at its old expiry
// but is at its new one.
func TestRenewReschedules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	l := h.register("database/creds/ro/1", "database/", 10*time.Minute, "")
	h.clk.Advance(5 * time.Minute)
	if _, err := h.m.Renew(ctx, l.ID, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	sentinel := h.register("database/creds/ro/sentinel", "database/", 10*time.Minute, "")
	h.clk.Advance(11 * time.Minute) // past both the old expiry and the sentinel's
	eventually(t, "sentinel revoked", func() bool { return h.rev.revokedCount(sentinel.ID) == 1 })
	if h.rev.tryCount(l.ID) != 0 || !h.exists(h.m, l.ID) {
		t.Fatal("renewed lease revoked at its old expiry")
	}
	h.clk.Advance(20 * time.Minute)
	eventually(t, "renewed lease revoked", func() bool { return !h.exists(h.m, l.ID) })
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	ok := h.register("database/creds/ro/1", "database/", time.Hour, "acc")
	failing := h.register("database/creds/ro/2", "database/", time.Hour, "")
	h.rev.setFail(func(l *expiration.Lease, _ int) error {
		if l.ID == failing.ID {
			return errors.New("role gone")
		}
		return nil
	})
	if err := h.m.Revoke(ctx, ok.ID); err != nil {
		t.Fatal(err)
	}
	if h.exists(h.m, ok.ID) || h.rev.revokedCount(ok.ID) != 1 {
		t.Error("revoked lease still stored, or backend not called")
	}
	if err := h.m.Revoke(ctx, failing.ID); err == nil || !strings.Contains(err.Error(), "role gone") {
		t.Errorf("Revoke(failing) = %v", err)
	}
	if !h.exists(h.m, failing.ID) {
		t.Error("lease deleted though its revocation failed")
	}
	if err := h.m.Revoke(ctx, "database/creds/ro/404"); err != nil {
		t.Errorf("Revoke(absent) = %v, want nil", err)
	}
	if err := h.m.Revoke(ctx, ""); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Errorf("Revoke(\"\") = %v", err)
	}
	if st := h.m.Stats(); st.ByMount["database/"] != 1 {
		t.Errorf("Stats().ByMount = %v, want database/:1", st.ByMount)
	}
}
