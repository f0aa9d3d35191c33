package database_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Failure paths that need a failure at an exact point, against the fake.

func TestRotateRootLostAcknowledgement(t *testing.T) {
	h, srv := newFake(t)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	// The server applies the new password but the answer is lost.
	srv.mu.Lock()
	srv.failUpdate, srv.applyThenFail = errors.New("fake: connection reset"), true
	srv.mu.Unlock()
	err := mustFail(h, logical.UpdateOperation, "rotate-root/db")
	if !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	if srv.login("admin", "admin-pw-1") == nil {
		t.Fatal("the server still takes the old password")
	}
	// The next use reopens the connection with the pending password.
	h.creds("r")
	if !strings.Contains(h.logs.String(), "interrupted root rotation completed") {
		t.Fatalf("logs: %s", h.logs.String())
	}
	// A second instance (after a failover) connects too: storage holds
	// the working password.
	other := h.mount()
	h.b, other = other, h.b
	defer other.Cleanup(h.ctx())
	h.creds("r")
	if strings.Contains(h.logs.String(), "admin-pw-1") {
		t.Fatal("a password reached the log")
	}
}

func TestRotateRootFailureKeepsOldPassword(t *testing.T) {
	h, srv := newFake(t)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	srv.mu.Lock()
	srv.failUpdate = errors.New("fake: permission denied")
	srv.mu.Unlock()
	mustFail(h, logical.UpdateOperation, "rotate-root/db")
	if err := srv.login("admin", "admin-pw-1"); err != nil {
		t.Fatal(err)
	}
	h.creds("r") // reopened with the stored (old) password
	h.must(logical.UpdateOperation, "rotate-root/db", nil)
	if srv.login("admin", "admin-pw-1") == nil {
		t.Fatal("old root password still works")
	}
	h.creds("r")
}

func TestRotateRootRefusals(t *testing.T) {
	srv := newFakeServer()
	srv.addUser("admin", "pw-in-url-1")
	h := newHarness(t, srv.plugins())
	h.must(logical.UpdateOperation, "config/url", map[string]any{
		"plugin_name": fakePlugin, "connection_url": "fake://admin:pw-in-url-1@host/", "username": "admin", "password": "pw-in-url-1",
	})
	wantField(t, mustFail(h, logical.UpdateOperation, "rotate-root/url"), "connection_url")
	h.must(logical.UpdateOperation, "config/nopw", map[string]any{
		"plugin_name": fakePlugin, "connection_url": "fake://host/", "username": "admin", "verify_connection": false,
	})
	wantField(t, mustFail(h, logical.UpdateOperation, "rotate-root/nopw"), "password")
	wantErr(t, mustFail(h, logical.UpdateOperation, "rotate-root/none"), logical.ErrNotFound, "")
}

func TestRenewAndRevokeLogic(t *testing.T) {
	h, srv := newFake(t)
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": "CREATE", "default_ttl": "10m", "max_ttl": "25m"})
	user, _, sec := h.creds("r")
	for _, tc := range []struct {
		name    string
		advance time.Duration
		inc     any
		want    time.Duration
	}{
		{"default increment", 5 * time.Minute, nil, 10 * time.Minute},
		{"explicit increment", 0, "3m", 3 * time.Minute},
		{"capped by max ttl", 12 * time.Minute, "1h", 8 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.clock.Advance(tc.advance)
			resp, err := h.secretOp(logical.RenewOperation, sec, map[string]any{"increment": tc.inc})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Secret.TTL != tc.want || resp.Secret.InternalData["username"] != user {
				t.Fatalf("renewed lease = %+v, want ttl %v", resp.Secret, tc.want)
			}
			if u, _ := srv.user(user); !u.expiration.Equal(h.clock.Now().Add(tc.want)) {
				t.Fatalf("expiration = %v", u.expiration)
			}
		})
	}
	h.clock.Advance(9 * time.Minute)
	_, err := h.secretOp(logical.RenewOperation, sec, nil)
	wantErr(t, err, logical.ErrInvalidRequest, "past the max TTL")
	_, err = h.secretOp(logical.RenewOperation, sec, map[string]any{"increment": "often"})
	wantField(t, err, "increment")

	// Revocation survives the role's deletion (the lease recorded its
	// connection) and is idempotent.
	h.must(logical.DeleteOperation, "roles/r", nil)
	for range 2 {
		if _, err := h.secretOp(logical.RevokeOperation, sec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := srv.user(user); ok {
		t.Fatal("user survived revocation")
	}
	_, err = h.secretOp(logical.RevokeOperation, &logical.Secret{Type: "creds", InternalData: map[string]any{"role": "r"}}, nil)
	wantErr(t, err, logical.ErrInvalidRequest, "username")
}

func TestStaticRoleValidation(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	base := func(kv ...any) map[string]any {
		d := map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(d, kv[i].(string))
				continue
			}
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}
	for _, tc := range []struct {
		name, field string
		data        map[string]any
	}{
		{"no db", "db_name", base("db_name", nil)},
		{"unknown db", "db_name", base("db_name", "other")},
		{"no username", "username", base("username", nil)},
		{"root user", "username", base("username", "admin")},
		{"no schedule", "rotation_period", base("rotation_period", nil)},
		{"short period", "rotation_period", base("rotation_period", 4)},
		{"both", "rotation_schedule", base("rotation_schedule", "0 * * * *")},
		{"bad cron", "rotation_schedule", base("rotation_period", nil, "rotation_schedule", "every day")},
		{"six-field cron", "rotation_schedule", base("rotation_period", nil, "rotation_schedule", "0 0 * * * *")},
		{"window without schedule", "rotation_window", base("rotation_window", "2h")},
		{"short window", "rotation_window", base("rotation_period", nil, "rotation_schedule", "0 * * * *", "rotation_window", "30m")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, "static-roles/s", tc.data)
			wantField(t, err, tc.field)
			if srv.login("app", "app-initial-1") != nil {
				t.Fatal("a refused role rotated the password")
			}
		})
	}
	h.must(logical.UpdateOperation, "config/db", map[string]any{"allowed_roles": "other"})
	_, err := h.do(logical.UpdateOperation, "static-roles/s", base())
	wantField(t, err, "name")
	h.must(logical.UpdateOperation, "config/db", map[string]any{"allowed_roles": "*"})
	h.must(logical.UpdateOperation, "static-roles/s", base())
	_, err = h.do(logical.UpdateOperation, "static-roles/s", map[string]any{"username": "other"})
	wantField(t, err, "username")
	_, err = h.do(logical.UpdateOperation, "roles/s", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	wantField(t, err, "name")
	// Switching to a schedule clears the period.
	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"rotation_schedule": "30 4 * * *", "rotation_window": "2h"})
	data := h.must(logical.ReadOperation, "static-roles/s", nil).Data
	if _, ok := data["rotation_period"]; ok || data["rotation_schedule"] != "30 4 * * *" || data["rotation_window"] != int64(7200) {
		t.Fatalf("static role = %v", data)
	}
}

func TestStaticRotationBackoff(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	// A first rotation that fails creates nothing.
	srv.mu.Lock()
	srv.failUpdate = errors.New("fake: lock wait timeout")
	srv.mu.Unlock()
	_, err := h.do(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	if err == nil {
		t.Fatal("create succeeded")
	}
	wantErr(t, mustFail(h, logical.ReadOperation, "static-roles/s"), logical.ErrNotFound, "")

	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	first := h.must(logical.ReadOperation, "static-creds/s", nil).Data["password"].(string)
	h.clock.Advance(time.Hour)
	for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
		srv.mu.Lock()
		srv.failUpdate = errors.New("fake: lock wait timeout")
		srv.mu.Unlock()
		if err := h.b.Periodic(h.ctx()); err == nil || !strings.Contains(err.Error(), "lock wait timeout") {
			t.Fatalf("failure %d: Periodic = %v", i+1, err)
		}
		if got := h.must(logical.ReadOperation, "static-creds/s", nil).Data["password"]; got != first {
			t.Fatal("a failed rotation changed the readable password")
		}
		// Not retried before the backoff elapses.
		h.clock.Advance(wait - time.Second)
		if err := h.b.Periodic(h.ctx()); err != nil {
			t.Fatalf("retried early: %v", err)
		}
		h.clock.Advance(time.Second)
	}
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range h.rotations() {
		if ev.Kind != "static" || ev.Name != "s" || ev.DBName != "db" || ev.Username != "app" {
			t.Fatalf("event %+v", ev)
		}
		kinds = append(kinds, ev.Reason+"/"+fmt.Sprint(ev.Err != nil))
	}
	// create failed, create, three failed scheduled tries, the retry.
	if want := "create/true create/false scheduled/true scheduled/true scheduled/true scheduled/false"; strings.Join(kinds, " ") != want {
		t.Fatalf("rotation events %v, want %v", kinds, want)
	}
	now := h.must(logical.ReadOperation, "static-creds/s", nil).Data
	if now["password"] == first || srv.login("app", now["password"].(string)) != nil {
		t.Fatalf("retry did not rotate: %v", now["username"])
	}
	if now["ttl"] != int64(3600) {
		t.Fatalf("ttl = %v", now["ttl"])
	}
}

func TestStaticRotationLostAcknowledgement(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	srv.mu.Lock()
	srv.failUpdate, srv.applyThenFail = errors.New("fake: connection reset"), true
	srv.mu.Unlock()
	mustFail(h, logical.UpdateOperation, "rotate-role/s")
	srv.mu.Lock()
	srv.applyThenFail = false
	srv.mu.Unlock()
	// The retry reuses the password the server already has, so storage
	// and server agree again.
	h.must(logical.UpdateOperation, "rotate-role/s", nil)
	pw := h.must(logical.ReadOperation, "static-creds/s", nil).Data["password"].(string)
	if err := srv.login("app", pw); err != nil {
		t.Fatal(err)
	}
}

func TestRotationWindowMissed(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	// Noon; daily at 13:00, a 1h window.
	h.clock.Set(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_schedule": "0 13 * * *", "rotation_window": "1h"})
	created := h.must(logical.ReadOperation, "static-creds/s", nil).Data
	if created["ttl"] != int64(3600) {
		t.Fatalf("ttl = %v", created["ttl"])
	}
	h.clock.Advance(3 * time.Hour) // 15:00: the 13:00 window is over
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	data := h.must(logical.ReadOperation, "static-creds/s", nil).Data
	if data["password"] != created["password"] || data["ttl"] != int64(22*3600) {
		t.Fatalf("after a missed window: ttl %v, rotated %v", data["ttl"], data["password"] != created["password"])
	}
	h.clock.Advance(22*time.Hour + 30*time.Minute) // 13:30 next day: inside the window
	if err := h.b.Periodic(h.ctx()); err != nil {
		t.Fatal(err)
	}
	if got := h.must(logical.ReadOperation, "static-creds/s", nil).Data["password"]; got == created["password"] {
		t.Fatal("not rotated inside the window")
	}
}

func TestListsAndRoutes(t *testing.T) {
	h, srv := newFake(t)
	srv.addUser("app", "app-initial-1")
	wantErr(t, mustFail(h, logical.ListOperation, "roles/"), logical.ErrNotFound, "")
	wantErr(t, mustFail(h, logical.ListOperation, "static-roles"), logical.ErrNotFound, "")
	h.must(logical.UpdateOperation, "roles/b", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	h.must(logical.UpdateOperation, "roles/a", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
	h.must(logical.UpdateOperation, "static-roles/s", map[string]any{"db_name": "db", "username": "app", "rotation_period": "1h"})
	for path, want := range map[string]string{"config/": "db", "roles/": "a,b", "static-roles/": "s"} {
		keys := h.must(logical.ListOperation, path, nil).Data["keys"].([]string)
		if strings.Join(keys, ",") != want {
			t.Fatalf("list %s = %v", path, keys)
		}
	}
	for _, tc := range []struct {
		path   string
		op     logical.Operation
		action string
	}{
		{"creds/a", logical.ReadOperation, "generate"},
		{"rotate-root/db", logical.UpdateOperation, "rotate"},
		{"rotate-role/s", logical.UpdateOperation, "rotate"},
		{"static-creds/s", logical.ReadOperation, ""},
		{"config/db", logical.UpdateOperation, ""},
	} {
		info, ok := h.b.RouteInfo(tc.path, tc.op)
		if !ok || info.Action != tc.action || info.Sudo || info.Unauthenticated {
			t.Fatalf("RouteInfo(%s) = %+v %v", tc.path, info, ok)
		}
	}
	for _, p := range []string{"creds/", "creds/a/b", "config/-x", "roles/a b"} {
		wantErr(t, mustFail(h, logical.ReadOperation, p), logical.ErrUnsupportedPath, "")
	}
	for _, tc := range []struct {
		path   string
		exists bool
	}{{"config/db", true}, {"config/x", false}, {"roles/a", true}, {"static-roles/s", true}, {"static-roles/a", false}} {
		exists, ok, err := h.b.ExistenceCheck(h.ctx(), &logical.Request{Operation: logical.UpdateOperation, Path: tc.path, Storage: h.store})
		if err != nil || !ok || exists != tc.exists {
			t.Fatalf("ExistenceCheck(%s) = %v %v %v", tc.path, exists, ok, err)
		}
	}
}
