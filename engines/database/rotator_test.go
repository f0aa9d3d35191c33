package database_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// targets returns the mount's rotation targets by path.
func (h *harness) targets() map[string]logical.RotationTarget {
	h.t.Helper()
	ts, err := h.b.RotationTargets(h.ctx(), h.store)
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(map[string]logical.RotationTarget, len(ts))
	for _, t := range ts {
		out[t.Path] = t
	}
	return out
}

func (h *harness) verify(path string) error { return h.b.Verify(h.ctx(), h.store, path) }

func TestRotatorTargets(t *testing.T) {
	h, srv := newFake(t)
	t0 := h.clock.Now()
	srv.addUser("app", "app-pw-1")
	h.clock.Advance(time.Minute)
	h.must(logical.UpdateOperation, "static-roles/app", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	h.clock.Advance(time.Minute)
	srv.addUser("admin2", "admin2-pw")
	h.must(logical.UpdateOperation, "config/other", map[string]any{
		"plugin_name": fakePlugin, "connection_url": "fake://{{username}}:{{password}}@host/", "username": "admin2", "password": "admin2-pw",
	})
	h.clock.Advance(time.Minute)
	// A write that sends no password leaves its age alone.
	h.must(logical.UpdateOperation, "config/db", map[string]any{"allowed_roles": "*"})

	ts, err := h.b.RotationTargets(h.ctx(), h.store)
	if err != nil {
		t.Fatal(err)
	}
	want := []logical.RotationTarget{
		{Path: "static-roles/app", LastRotated: t0.Add(time.Minute), Guards: []string{"static-creds/app"}, Verifiable: true},
		{Path: "config/db", LastRotated: t0, Verifiable: true},
		{Path: "config/other", LastRotated: t0.Add(2 * time.Minute), Verifiable: true},
	}
	if len(ts) != len(want) {
		t.Fatalf("targets = %+v", ts)
	}
	for i, w := range want {
		g := ts[i]
		if g.Path != w.Path || !g.LastRotated.Equal(w.LastRotated) || strings.Join(g.Guards, ",") != strings.Join(w.Guards, ",") || !g.Verifiable || g.Tags != nil {
			t.Errorf("target %d = %+v, want %+v", i, g, w)
		}
	}
	// A new password resets the connection's age.
	h.must(logical.UpdateOperation, "config/db", map[string]any{"password": "admin-pw-1"})
	if got := h.targets()["config/db"].LastRotated; !got.Equal(h.clock.Now()) {
		t.Fatalf("config/db aged from %v after a password write", got)
	}
}

func TestRotatorStaticRole(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-pw-1")
	h.must(logical.UpdateOperation, "static-roles/app", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	if err := h.verify("static-roles/app"); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Changed behind the engine's back: drift, without the password.
	srv.addUser("app", "changed-by-hand")
	err := h.verify("static-roles/app")
	wantErr(t, err, logical.ErrDrift, `"app"`)
	pw := h.must(logical.ReadOperation, "static-creds/app", nil).Data["password"].(string)
	if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "changed-by-hand") {
		t.Fatal("the error shows a password")
	}
	// Rotate repairs it, through rotate-role's path and observer.
	h.clock.Advance(time.Hour)
	res, err := h.b.Rotate(h.ctx(), h.store, "static-roles/app")
	if err != nil || !res.RotatedAt.Equal(h.clock.Now()) || res.Version != "" {
		t.Fatalf("rotate = %+v, %v", res, err)
	}
	if err := h.verify("static-roles/app"); err != nil {
		t.Fatalf("verify after rotate: %v", err)
	}
	evs := h.rotations()
	if ev := evs[len(evs)-1]; ev.Kind != "static" || ev.Name != "app" || ev.Reason != "policy" || ev.Err != nil {
		t.Fatalf("event = %+v", ev)
	}
	if got := h.targets()["static-roles/app"].LastRotated; !got.Equal(h.clock.Now()) {
		t.Fatalf("LastRotated = %v after rotation", got)
	}
	// Unreachable: an error, not drift.
	srv.mu.Lock()
	srv.down = true
	srv.mu.Unlock()
	err = h.verify("static-roles/app")
	if err == nil || errors.Is(err, logical.ErrDrift) {
		t.Fatalf("verify of a server down = %v, want a plain error", err)
	}
}

func TestRotatorRotationInFlight(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-pw-1")
	h.must(logical.UpdateOperation, "static-roles/app", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	// The server takes the new password but the answer is lost.
	srv.mu.Lock()
	srv.failUpdate, srv.applyThenFail = errors.New("fake: connection reset"), true
	srv.mu.Unlock()
	if _, err := h.b.Rotate(h.ctx(), h.store, "static-roles/app"); err == nil {
		t.Fatal("a failed rotation succeeded")
	}
	err := h.verify("static-roles/app")
	wantErr(t, err, database.ErrRotationInFlight, "")
	if errors.Is(err, logical.ErrDrift) {
		t.Fatal("a rotation in flight is reported as drift")
	}
	if _, err := h.b.Rotate(h.ctx(), h.store, "static-roles/app"); err != nil {
		t.Fatal(err)
	}
	if err := h.verify("static-roles/app"); err != nil {
		t.Fatal(err)
	}
}

func TestRotatorConfig(t *testing.T) {
	h, srv := newFake(t)
	if err := h.verify("config/db"); err != nil {
		t.Fatalf("verify: %v", err)
	}
	h.clock.Advance(time.Hour)
	res, err := h.b.Rotate(h.ctx(), h.store, "config/db")
	if err != nil || !res.RotatedAt.Equal(h.clock.Now()) {
		t.Fatalf("rotate = %+v, %v", res, err)
	}
	if err := srv.login("admin", "admin-pw-1"); err == nil {
		t.Fatal("the old root password still works")
	}
	if err := h.verify("config/db"); err != nil {
		t.Fatalf("verify after rotate: %v", err)
	}
	evs := h.rotations()
	if ev := evs[len(evs)-1]; ev.Kind != "root" || ev.Name != "db" || ev.Reason != "policy" {
		t.Fatalf("event = %+v", ev)
	}
	if got := h.targets()["config/db"].LastRotated; !got.Equal(h.clock.Now()) {
		t.Fatalf("LastRotated = %v after rotate-root", got)
	}
	srv.addUser("admin", "changed-by-hand")
	wantErr(t, h.verify("config/db"), logical.ErrDrift, "")
	// Rotate fails as rotate-root does when it cannot log in.
	if _, err := h.b.Rotate(h.ctx(), h.store, "config/db"); err == nil {
		t.Fatal("rotate-root with a drifted password succeeded")
	}
}

func TestRotatorNotTargets(t *testing.T) {
	h, _ := newFake(t)
	for _, path := range []string{"static-roles/missing", "config/missing", "static-roles/", "config/",
		"static-roles/a/b", "static-roles/../x", "roles/db", "static-creds/app", "creds/x", "db"} {
		_, err := h.b.Rotate(h.ctx(), h.store, path)
		wantErr(t, err, logical.ErrNotFound, "")
		wantErr(t, h.verify(path), logical.ErrNotFound, "")
	}
}
