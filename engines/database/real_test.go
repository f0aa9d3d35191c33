package database_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// The scenarios below run the engine, built with its Factory's New, over
// real plugins against real servers (MariaDB/MySQL in mysql_test.go, a
// throwaway password-checking PostgreSQL in postgres_test.go), and check
// the outcome on the server itself: logins with the passwords the
// engine hands out, and the users that exist.

// server is one real database server as the scenarios use it.
type server struct {
	plugin  string
	plugins map[string]func() dbplugin.Database
	// url is a templated connection URL.
	url string
	// newAdmin creates a dedicated user with the rights to manage
	// others (never the real root, so rotate-root cannot lock the tests
	// out), dropped when the test ends.
	newAdmin func(t testing.TB) (user, password string)
	// creation are a role's creation statements; badCreation fails with
	// a server error that quotes the statement from before the password.
	creation, badCreation []string
	// login logs in as user and returns the server's current_user; an
	// error means the password does not work.
	login func(ctx context.Context, user, password string) (string, error)
	// exists reports whether a user exists.
	exists func(t testing.TB, user string) bool
	// createUser creates a user with a password (for static roles) and
	// drops it when the test ends.
	createUser func(t testing.TB, user, password string)
	// expiration is the server's expiry of a user (ok=false: the server
	// has none, as MySQL).
	expiration func(t testing.TB, user string) (time.Time, bool)
	// gate and ungate make the statements gateStatements refer to fail
	// and work again.
	gate, ungate   func(t testing.TB)
	gateStatements []string
	// cleanup drops every user whose name starts with prefix.
	cleanup func(prefix string)
	// setPassword changes a user's password as the real root, behind
	// the engine's back.
	setPassword func(t testing.TB, user, password string)
	// downURL is a templated connection URL of the same kind where no
	// server listens.
	downURL string
}

// randomName returns prefix and n random hex characters.
func randomName(prefix string, n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)[:n]
}

// realMount is a mount with connection "db" to a server as a new admin
// and a role whose name is unique to the test (generated usernames carry
// it, so that the test's leftovers can be dropped).
type realMount struct {
	*harness
	role, admin, adminPassword string
}

func realHarness(t *testing.T, srv *server) *realMount {
	t.Helper()
	m := &realMount{harness: newHarness(t, srv.plugins), role: randomName("r", 6)}
	m.admin, m.adminPassword = srv.newAdmin(t)
	t.Cleanup(func() { srv.cleanup("v-token-" + m.role) })
	m.must(logical.UpdateOperation, "config/db", map[string]any{
		"plugin_name": srv.plugin, "connection_url": srv.url,
		"username": m.admin, "password": m.adminPassword, "allowed_roles": []any{m.role + "*", "static-*"},
	})
	m.must(logical.UpdateOperation, "roles/"+m.role, map[string]any{
		"db_name": "db", "creation_statements": srv.creation, "default_ttl": "10m", "max_ttl": "30m",
	})
	return m
}

// mustLogin fails the test unless user logs in with password.
func mustLogin(t testing.TB, srv *server, user, password string) {
	t.Helper()
	got, err := srv.login(context.Background(), user, password)
	if err != nil {
		t.Fatalf("login as %q: %v", user, err)
	}
	if got != user {
		t.Fatalf("logged in as %q, want %q", got, user)
	}
}

// mustNotLogin fails the test if user logs in with password.
func mustNotLogin(t testing.TB, srv *server, user, password string) {
	t.Helper()
	if _, err := srv.login(context.Background(), user, password); err == nil {
		t.Fatalf("login as %q with an old or revoked password worked", user)
	}
}

func testCredsLifecycle(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	role := h.role
	user, pw, sec := h.creds(role)
	if !strings.Contains(user, role) {
		t.Fatalf("username %q does not name the role", user)
	}
	mustLogin(t, srv, user, pw)
	if exp, ok := srv.expiration(t, user); ok && exp.Sub(h.clock.Now().Add(10*time.Minute)).Abs() > time.Second {
		t.Fatalf("expiration %v, want now+10m", exp)
	}

	// Renew: extended by the increment, then capped by max_ttl.
	h.clock.Advance(5 * time.Minute)
	resp, err := h.secretOp(logical.RenewOperation, sec, map[string]any{"increment": "15m"})
	if err != nil || resp.Secret.TTL != 15*time.Minute {
		t.Fatalf("renew = %+v, %v", resp, err)
	}
	if exp, ok := srv.expiration(t, user); ok && exp.Sub(h.clock.Now().Add(15*time.Minute)).Abs() > time.Second {
		t.Fatalf("renewed expiration %v, want now+15m", exp)
	}
	h.clock.Advance(15 * time.Minute)
	resp, err = h.secretOp(logical.RenewOperation, sec, map[string]any{"increment": "1h"})
	if err != nil || resp.Secret.TTL != 10*time.Minute {
		t.Fatalf("renew past max_ttl = %+v, %v (want the 10m left)", resp, err)
	}
	mustLogin(t, srv, user, pw)

	// Revoke: the user is gone and cannot log in; revoking again works.
	for range 2 {
		if _, err := h.secretOp(logical.RevokeOperation, sec, nil); err != nil {
			t.Fatalf("revoke: %v", err)
		}
	}
	mustNotLogin(t, srv, user, pw)
	if srv.exists(t, user) {
		t.Fatalf("user %q survived revocation", user)
	}

	// A server error quoting the password reaches no one with it.
	h.must(logical.UpdateOperation, "roles/"+role+"-bad", map[string]any{"db_name": "db", "creation_statements": srv.badCreation})
	err = mustFail(h.harness, logical.ReadOperation, "creds/"+role+"-bad")
	if !strings.Contains(err.Error(), "syntax") {
		t.Fatalf("err = %v, want the server's syntax error", err)
	}
	pw = h.sys.lastPassword()
	if pw == "" || strings.Contains(err.Error(), pw) || strings.Contains(h.logs.String(), pw) {
		t.Fatalf("the password of a failed creation leaked: %v", err)
	}

	// allowed_roles is enforced: nothing is created for another role.
	h.must(logical.UpdateOperation, "roles/other", map[string]any{"db_name": "db", "creation_statements": srv.creation})
	wantField(t, mustFail(h.harness, logical.ReadOperation, "creds/other"), "name")

	// The config read never shows the password.
	data := h.must(logical.ReadOperation, "config/db", nil).Data
	if _, ok := data["connection_details"].(map[string]any)["password"]; ok || strings.Contains(fmt.Sprint(data), h.adminPassword) {
		t.Fatal("config read shows the password")
	}
}

func testRotateRoot(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	role := h.role
	h.must(logical.UpdateOperation, "rotate-root/db", nil)
	mustNotLogin(t, srv, h.admin, h.adminPassword)
	// The engine keeps working on its pool, after a reset, and on a new
	// instance over the same storage (another node after a failover).
	user, pw, _ := h.creds(role)
	mustLogin(t, srv, user, pw)
	h.must(logical.UpdateOperation, "reset/db", nil)
	user, pw, _ = h.creds(role)
	mustLogin(t, srv, user, pw)
	old := h.b
	h.b = h.mount()
	old.Cleanup(h.ctx())
	user, pw, _ = h.creds(role)
	mustLogin(t, srv, user, pw)
	// Twice in a row works too (the second rotation logs in with the
	// first's password).
	h.must(logical.UpdateOperation, "rotate-root/db", nil)
	user, pw, _ = h.creds(role)
	mustLogin(t, srv, user, pw)
	if strings.Contains(h.logs.String(), h.adminPassword) {
		t.Fatal("a password reached the log")
	}
}

func testStaticRole(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	user := randomName("svst_", 8)
	srv.createUser(t, user, "Initial-pw-0001")
	mustLogin(t, srv, user, "Initial-pw-0001")
	h.must(logical.UpdateOperation, "static-roles/static-app", map[string]any{
		"db_name": "db", "username": user, "rotation_period": "1h",
	})
	// Created: rotated at once.
	mustNotLogin(t, srv, user, "Initial-pw-0001")
	c1 := h.must(logical.ReadOperation, "static-creds/static-app", nil).Data
	if c1["username"] != user || c1["ttl"] != int64(3600) || c1["rotation_period"] != int64(3600) || c1["last_vault_rotation"] == nil {
		t.Fatalf("static-creds = %v", c1["username"])
	}
	pw1 := c1["password"].(string)
	mustLogin(t, srv, user, pw1)

	// Not due: Periodic leaves it alone.
	h.clock.Advance(59 * time.Minute)
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	mustLogin(t, srv, user, pw1)
	if got := h.must(logical.ReadOperation, "static-creds/static-app", nil).Data["ttl"]; got != int64(60) {
		t.Fatalf("ttl = %v, want 60", got)
	}
	// Due: rotated; the old password stops working.
	h.clock.Advance(time.Minute)
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	pw2 := h.must(logical.ReadOperation, "static-creds/static-app", nil).Data["password"].(string)
	mustNotLogin(t, srv, user, pw1)
	mustLogin(t, srv, user, pw2)

	// Failover: the old active node is gone before the next rotation;
	// the new one runs the missed rotation on its first tick.
	h.clock.Advance(3 * time.Hour)
	old := h.b
	h.b = h.mount()
	old.Cleanup(h.ctx())
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	pw3 := h.must(logical.ReadOperation, "static-creds/static-app", nil).Data["password"].(string)
	mustNotLogin(t, srv, user, pw2)
	mustLogin(t, srv, user, pw3)

	// rotate-role rotates now.
	h.must(logical.UpdateOperation, "rotate-role/static-app", nil)
	pw4 := h.must(logical.ReadOperation, "static-creds/static-app", nil).Data["password"].(string)
	mustNotLogin(t, srv, user, pw3)
	mustLogin(t, srv, user, pw4)
	if logs := h.logs.String(); !strings.Contains(logs, "static role rotated") || strings.Contains(logs, pw4) || strings.Contains(logs, pw1) {
		t.Fatal("rotations not logged, or logged with a password")
	}
}

func testStaticRotationRetry(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	user := randomName("svst_", 8)
	srv.createUser(t, user, "Initial-pw-0001")
	srv.ungate(t)
	h.must(logical.UpdateOperation, "static-roles/static-gated", map[string]any{
		"db_name": "db", "username": user, "rotation_period": "1h", "rotation_statements": srv.gateStatements,
	})
	pw1 := h.must(logical.ReadOperation, "static-creds/static-gated", nil).Data["password"].(string)
	mustLogin(t, srv, user, pw1)

	srv.gate(t)
	h.clock.Advance(time.Hour)
	if err := h.b.Periodic(h.ctx()); err == nil {
		t.Fatal("a rotation through a failing statement succeeded")
	}
	// The old password is still readable and still works.
	if got := h.must(logical.ReadOperation, "static-creds/static-gated", nil).Data["password"]; got != pw1 {
		t.Fatal("a failed rotation changed the readable password")
	}
	mustLogin(t, srv, user, pw1)
	srv.ungate(t)
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatalf("retried before its backoff: %v", err)
	}
	mustLogin(t, srv, user, pw1)
	h.clock.Advance(10 * time.Second)
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	pw2 := h.must(logical.ReadOperation, "static-creds/static-gated", nil).Data["password"].(string)
	mustNotLogin(t, srv, user, pw1)
	mustLogin(t, srv, user, pw2)
}

func testConcurrentCreds(t *testing.T, srv *server) {
	h := realHarness(t, srv)
	role := h.role
	const workers, each = 6, 3
	type cred struct {
		user, pw string
		sec      *logical.Secret
	}
	var mu sync.Mutex
	var all []cred
	var wg sync.WaitGroup
	errs := make(chan error, workers*each+2)
	for range workers {
		wg.Go(func() {
			for range each {
				resp, err := h.do(logical.ReadOperation, "creds/"+role, nil)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, cred{resp.Data["username"].(string), resp.Data["password"].(string), resp.Secret})
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		if _, err := h.do(logical.UpdateOperation, "reset/db", nil); err != nil {
			errs <- err
		}
	})
	wg.Go(func() {
		if _, err := h.do(logical.ReadOperation, "config/db", nil); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.user] {
			t.Fatalf("username %q handed out twice", c.user)
		}
		seen[c.user] = true
		mustLogin(t, srv, c.user, c.pw)
	}
	if len(all) != workers*each {
		t.Fatalf("%d creds", len(all))
	}
	var rerr error
	var emu sync.Mutex
	for _, c := range all {
		wg.Go(func() {
			if _, err := h.secretOp(logical.RevokeOperation, c.sec, nil); err != nil {
				emu.Lock()
				rerr = errors.Join(rerr, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, c := range all {
		mustNotLogin(t, srv, c.user, c.pw)
	}
}

// runScenarios runs every scenario against srv.
func runScenarios(t *testing.T, srv *server) {
	for _, sc := range []struct {
		name string
		fn   func(*testing.T, *server)
	}{
		{"CredsLifecycle", testCredsLifecycle},
		{"RotateRoot", testRotateRoot},
		{"StaticRole", testStaticRole},
		{"StaticRotationRetry", testStaticRotationRetry},
		{"ConcurrentCreds", testConcurrentCreds},
		{"RotationPolicy", testRotationPolicy},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.fn(t, srv) })
	}
}
