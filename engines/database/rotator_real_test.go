package database_test

import (
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// testRotationPolicy drives the engine as a rotation policy does
// (logical.Rotator) against a real server: drift of a static role's
// password changed by hand, its repair by Rotate, rotate-root and its
// verification, and a server that cannot be reached (not drift).
func testRotationPolicy(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	user := randomName("svst_", 8)
	srv.createUser(t, user, "Initial-pw-0001")
	h.must(logical.UpdateOperation, "static-roles/static-rp", map[string]any{
		"db_name": "db", "username": user, "rotation_period": "24h",
	})
	pw1 := h.must(logical.ReadOperation, "static-creds/static-rp", nil).Data["password"].(string)
	ts := h.targets()
	if tg, ok := ts["static-roles/static-rp"]; !ok || !tg.Verifiable || !tg.LastRotated.Equal(h.clock.Now()) {
		t.Fatalf("static role target = %+v", tg)
	}
	if _, ok := ts["config/db"]; !ok {
		t.Fatalf("targets = %v, want config/db", ts)
	}
	if err := h.verify("static-roles/static-rp"); err != nil {
		t.Fatalf("verify: %v", err)
	}

	// Drift: the password is changed on the server directly.
	srv.setPassword(t, user, "Changed-by-hand-01")
	wantErr(t, h.verify("static-roles/static-rp"), logical.ErrDrift, user)
	h.clock.Advance(time.Hour)
	res, err := h.b.Rotate(h.ctx(), h.store, "static-roles/static-rp")
	if err != nil || !res.RotatedAt.Equal(h.clock.Now()) {
		t.Fatalf("rotate = %+v, %v", res, err)
	}
	if err := h.verify("static-roles/static-rp"); err != nil {
		t.Fatalf("verify after rotate: %v", err)
	}
	pw2 := h.must(logical.ReadOperation, "static-creds/static-rp", nil).Data["password"].(string)
	mustLogin(t, srv, user, pw2)
	mustNotLogin(t, srv, user, "Changed-by-hand-01")
	mustNotLogin(t, srv, user, pw1)

	// The connection's own password: verified, rotated, verified.
	if err := h.verify("config/db"); err != nil {
		t.Fatalf("verify config: %v", err)
	}
	if _, err := h.b.Rotate(h.ctx(), h.store, "config/db"); err != nil {
		t.Fatal(err)
	}
	mustNotLogin(t, srv, h.admin, h.adminPassword)
	if err := h.verify("config/db"); err != nil {
		t.Fatalf("verify config after rotate-root: %v", err)
	}
	if got := h.targets()["config/db"].LastRotated; !got.Equal(h.clock.Now()) {
		t.Fatalf("config/db LastRotated = %v after rotate-root", got)
	}
	user2, pw3, _ := h.creds(h.role)
	mustLogin(t, srv, user2, pw3)

	// A server that cannot be reached is an error, not drift.
	h.must(logical.UpdateOperation, "config/down", map[string]any{
		"plugin_name": srv.plugin, "connection_url": srv.downURL, "verify_connection": false,
		"username": "nobody", "password": "Nobody-pw-0001",
	})
	if err := h.verify("config/down"); err == nil || errors.Is(err, logical.ErrDrift) {
		t.Fatalf("verify of an unreachable server = %v, want a plain error", err)
	}

	// The root password changed by hand: drift.
	srv.setPassword(t, h.admin, "Root-changed-01")
	wantErr(t, h.verify("config/db"), logical.ErrDrift, "")
}
