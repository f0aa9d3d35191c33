package barrier_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage/barrier"
)

func TestRotationConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   barrier.RotationConfig
		field string // "" when valid
	}{
		{"default", barrier.DefaultRotationConfig(), ""},
		{"minimum operations", barrier.RotationConfig{MaxOperations: barrier.MinRotationOperations, Enabled: true}, ""},
		{"disabled", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations}, ""},
		{"24h interval", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations, Interval: 24 * time.Hour, Enabled: true}, ""},
		{"a year", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations, Interval: 365 * 24 * time.Hour, Enabled: true}, ""},
		{"zero operations", barrier.RotationConfig{Enabled: true}, "max_operations"},
		{"too few operations", barrier.RotationConfig{MaxOperations: barrier.MinRotationOperations - 1, Enabled: true}, "max_operations"},
		{"too many operations", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations + 1, Enabled: true}, "max_operations"},
		{"short interval", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations, Interval: 24*time.Hour - time.Second, Enabled: true}, "interval"},
		{"negative interval", barrier.RotationConfig{MaxOperations: barrier.MaxRotationOperations, Interval: -time.Hour, Enabled: true}, "interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, barrier.ErrInvalidRotationConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want ErrInvalidRotationConfig naming %s", err, tc.field)
			}
		})
	}
	if d := barrier.DefaultRotationConfig(); d.MaxOperations != 3865470566 || d.Interval != 0 || !d.Enabled {
		t.Fatalf("DefaultRotationConfig = %+v, want Vault's 3865470566 / 0 / enabled", d)
	}
}

func TestSetRotationConfig(t *testing.T) {
	ctx := context.Background()
	active, phys, root := newBarrier(t)
	standby := unsealed(t, phys, root)
	if got, err := active.RotationConfig(); err != nil || got != barrier.DefaultRotationConfig() {
		t.Fatalf("RotationConfig of a new keyring = %+v, %v; want the default", got, err)
	}
	bad := barrier.RotationConfig{MaxOperations: 5, Enabled: true}
	if err := active.SetRotationConfig(ctx, bad); !errors.Is(err, barrier.ErrInvalidRotationConfig) {
		t.Fatalf("SetRotationConfig(invalid) = %v", err)
	}
	want := barrier.RotationConfig{MaxOperations: 2_000_000, Interval: 48 * time.Hour, Enabled: false}
	if err := active.SetRotationConfig(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := active.RotationConfig(); got != want {
		t.Fatalf("RotationConfig = %+v, want %+v", got, want)
	}
	if got, _ := unsealed(t, phys, root).RotationConfig(); got != want {
		t.Fatalf("fresh node reads %+v, want %+v", got, want)
	}
	if got, _ := standby.RotationConfig(); got != barrier.DefaultRotationConfig() {
		t.Fatalf("standby changed before reload: %+v", got)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := standby.RotationConfig(); got != want {
		t.Fatalf("standby after reload reads %+v, want %+v", got, want)
	}
	// Rotating terms or the root key keeps the config.
	if _, err := active.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := active.RotateRootKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := standby.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := standby.RotationConfig(); got != want {
		t.Fatalf("config after rotations = %+v, want %+v", got, want)
	}
}

func TestRotationDueByInterval(t *testing.T) {
	ctx := context.Background()
	b, _, _ := newBarrier(t)
	st, _ := b.KeyStatus()
	installed := st.InstallTime
	if due, reason := b.RotationDue(installed.Add(10 * 365 * 24 * time.Hour)); due {
		t.Fatalf("due with interval off: %q", reason)
	}
	cfg := barrier.DefaultRotationConfig()
	cfg.Interval = 24 * time.Hour
	if err := b.SetRotationConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after time.Duration
		due   bool
	}{
		{"just installed", 0, false},
		{"a second short", 24*time.Hour - time.Second, false},
		{"exactly the interval", 24 * time.Hour, true},
		{"long after", 100 * time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due, reason := b.RotationDue(installed.Add(tc.after))
			if due != tc.due {
				t.Fatalf("RotationDue(+%s) = %v (%q), want %v", tc.after, due, reason, tc.due)
			}
			if due != (reason != "") || (due && !strings.Contains(reason, "interval")) {
				t.Fatalf("reason %q does not match due=%v", reason, due)
			}
		})
	}
	cfg.Enabled = false
	if err := b.SetRotationConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if due, reason := b.RotationDue(installed.Add(100 * time.Hour)); due || reason != "" {
		t.Fatalf("disabled rotation due: %v %q", due, reason)
	}
	cfg.Enabled = true
	if err := b.SetRotationConfig(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ = b.KeyStatus()
	if due, reason := b.RotationDue(st.InstallTime.Add(time.Hour)); due {
		t.Fatalf("due one hour after rotating: %q", reason)
	}
}
