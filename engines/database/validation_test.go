package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Unit tests of the engine's own logic against the in-memory fake.

const fakePlugin = "fake-database-plugin"

// newFake is a harness over a fake server with an admin user and a
// config "db" allowing every role.
func newFake(t *testing.T) (*harness, *fakeServer) {
	t.Helper()
	srv := newFakeServer()
	srv.addUser("admin", "admin-pw-1")
	h := newHarness(t, srv.plugins())
	h.must(logical.UpdateOperation, "config/db", map[string]any{
		"plugin_name": fakePlugin, "connection_url": "fake://{{username}}:{{password}}@host/",
		"username": "admin", "password": "admin-pw-1", "allowed_roles": "*",
	})
	return h, srv
}

func TestFactory(t *testing.T) {
	if _, err := database.Factory(nil)(context.Background(), &logical.BackendConfig{}); !errors.Is(err, database.ErrNoPlugins) {
		t.Fatalf("no plugins: %v", err)
	}
	b, err := database.Factory(newFakeServer().plugins())(context.Background(), &logical.BackendConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, iface := range []any{b.(logical.Cleaner), b.(logical.Periodic), b.(logical.TTLGranter), b.(logical.RouteDescriber)} {
		if iface == nil {
			t.Fatal("missing power")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	h, _ := newFake(t)
	base := func(kv ...any) map[string]any {
		d := map[string]any{"plugin_name": fakePlugin, "connection_url": "fake://x", "username": "admin", "password": "admin-pw-1"}
		for i := 0; i < len(kv); i += 2 {
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}
	for _, tc := range []struct {
		name, field string
		data        map[string]any
	}{
		{"no plugin", "plugin_name", base("plugin_name", "")},
		{"unknown plugin", "plugin_name", base("plugin_name", "oracle-database-plugin")},
		{"no url", "connection_url", base("connection_url", "")},
		{"negative max open", "max_open_connections", base("max_open_connections", -1)},
		{"negative max idle", "max_idle_connections", base("max_idle_connections", "-2")},
		{"bad lifetime", "max_connection_lifetime", base("max_connection_lifetime", "soon")},
		{"negative lifetime", "max_connection_lifetime", base("max_connection_lifetime", "-1s")},
		{"verify fails", "", base("password", "wrong")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, "config/new", tc.data)
			wantField(t, err, tc.field)
			if _, err := h.do(logical.ReadOperation, "config/new", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("a refused config was stored: %v", err)
			}
		})
	}
	// verify_connection=false skips the login.
	h.must(logical.UpdateOperation, "config/new", base("password", "wrong", "verify_connection", false))
}

func TestConfigReadRedacts(t *testing.T) {
	srv := newFakeServer()
	srv.addUser("admin", "s3cr3t-Pw")
	h := newHarness(t, srv.plugins())
	for _, tc := range []struct {
		name, url, want string
		warn            bool
	}{
		{"templated url", "postgresql://{{username}}:{{password}}@db:5432/app", "postgresql://{{username}}:{{password}}@db:5432/app", false},
		{"url with password", "postgresql://admin:s3cr3t-Pw@db:5432/app?sslmode=disable", "postgresql://admin:xxxxx@db:5432/app?sslmode=disable", true},
		{"dsn with password", "admin:s3cr3t-Pw@tcp(127.0.0.1:3306)/", "admin:xxxxx@tcp(127.0.0.1:3306)/", true},
		{"templated dsn", "{{username}}:{{password}}@tcp(127.0.0.1:3306)/", "{{username}}:{{password}}@tcp(127.0.0.1:3306)/", false},
		{"keyword form", "host=db user=admin password=s3cr3t-Pw dbname=app", "host=db user=admin password=xxxxx dbname=app", true},
		{"at sign in password", "postgresql://admin:p@ss-W0rd@db/app", "postgresql://admin:xxxxx@db/app", true},
		{"quoted keyword", "host=db password='s3 cr\\'t' user=admin", "host=db password=xxxxx user=admin", true},
		{"no password", "postgresql://admin@db/app", "postgresql://admin@db/app", false},
		{"query parameter", "postgres://db/app?user=admin&password=s3cr3t-Pw", "postgres://db/app?user=admin&password=xxxxx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.must(logical.UpdateOperation, "config/c", map[string]any{
				"plugin_name": fakePlugin, "connection_url": tc.url, "username": "admin", "password": "s3cr3t-Pw",
				"allowed_roles": "a,b*", "max_connection_lifetime": "90s",
			})
			if got := resp != nil && len(resp.Warnings) == 1; got != tc.warn {
				t.Fatalf("warnings = %+v, want a warning: %v", resp, tc.warn)
			}
			data := h.must(logical.ReadOperation, "config/c", nil).Data
			details := data["connection_details"].(map[string]any)
			if details["connection_url"] != tc.want {
				t.Fatalf("connection_url = %q, want %q", details["connection_url"], tc.want)
			}
			if _, ok := details["password"]; ok {
				t.Fatal("password returned")
			}
			if _, ok := data["password"]; ok {
				t.Fatal("password returned")
			}
			if details["max_connection_lifetime"] != "1m30s" || details["username"] != "admin" ||
				strings.Join(data["allowed_roles"].([]string), ",") != "a,b*" || data["verify_connection"] != true ||
				data["plugin_name"] != fakePlugin {
				t.Fatalf("config read = %v", data)
			}
		})
	}
}

func TestConfigErrorsNamePassword(t *testing.T) {
	h, _ := newFake(t)
	_, err := h.do(logical.UpdateOperation, "config/bad", map[string]any{
		"plugin_name": fakePlugin, "connection_url": "fake://admin:url-Secret-9@unreachable/",
		"username": "admin", "password": "field-Secret-8",
	})
	wantErr(t, err, logical.ErrInvalidRequest, "connection refused")
	for _, secret := range []string{"url-Secret-9", "field-Secret-8"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q holds a password", err)
		}
	}
}

func TestConfigUpdateKeepsFields(t *testing.T) {
	h, srv := newFake(t)
	h.must(logical.UpdateOperation, "config/db", map[string]any{"allowed_roles": []any{"r1"}})
	data := h.must(logical.ReadOperation, "config/db", nil).Data
	if data["connection_details"].(map[string]any)["username"] != "admin" || data["allowed_roles"].([]string)[0] != "r1" {
		t.Fatalf("update lost fields: %v", data)
	}
	// The replaced connection was closed, the new one opened.
	if srv.opens != 2 || srv.closes != 1 {
		t.Fatalf("opens %d closes %d", srv.opens, srv.closes)
	}
	h.must(logical.DeleteOperation, "config/db", nil)
	if srv.closes != 2 {
		t.Fatalf("delete did not close: %d", srv.closes)
	}
	wantErr(t, mustFail(h, logical.UpdateOperation, "reset/db"), logical.ErrNotFound, "")
}

func mustFail(h *harness, op logical.Operation, path string) error {
	h.t.Helper()
	_, err := h.do(op, path, nil)
	if err == nil {
		h.t.Fatalf("%s %s succeeded", op, path)
	}
	return err
}

func TestRoleValidation(t *testing.T) {
	h, _ := newFake(t)
	stmt := []any{"CREATE {{name}}"}
	for _, tc := range []struct {
		name, field string
		data        map[string]any
	}{
		{"no db", "db_name", map[string]any{"creation_statements": stmt}},
		{"no statements", "creation_statements", map[string]any{"db_name": "db"}},
		{"blank statements", "creation_statements", map[string]any{"db_name": "db", "creation_statements": []any{" "}}},
		{"negative ttl", "default_ttl", map[string]any{"db_name": "db", "creation_statements": stmt, "default_ttl": -5}},
		{"ttl above max", "default_ttl", map[string]any{"db_name": "db", "creation_statements": stmt, "default_ttl": "2h", "max_ttl": "1h"}},
		{"bad ttl", "max_ttl", map[string]any{"db_name": "db", "creation_statements": stmt, "max_ttl": "1.5"}},
		{"credential type", "credential_type", map[string]any{"db_name": "db", "creation_statements": stmt, "credential_type": "rsa_private_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.do(logical.UpdateOperation, "roles/r", tc.data)
			wantField(t, err, tc.field)
		})
	}
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": stmt, "default_ttl": "1h", "max_ttl": 7200})
	data := h.must(logical.ReadOperation, "roles/r", nil).Data
	if data["default_ttl"] != int64(3600) || data["max_ttl"] != int64(7200) || len(data["revocation_statements"].([]string)) != 0 {
		t.Fatalf("role read = %v", data)
	}
	// An update changes only what it sends.
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"max_ttl": "3h"})
	data = h.must(logical.ReadOperation, "roles/r", nil).Data
	if data["default_ttl"] != int64(3600) || data["max_ttl"] != int64(10800) || data["db_name"] != "db" {
		t.Fatalf("role read after update = %v", data)
	}
	// Role and static role names are one name space.
	_, err := h.do(logical.UpdateOperation, "static-roles/r", map[string]any{"db_name": "db", "username": "u", "rotation_period": "1h"})
	wantField(t, err, "name")
}

func TestAllowedRoles(t *testing.T) {
	for _, tc := range []struct {
		allowed string
		ok      bool
	}{{"*", true}, {"app", true}, {"ap*", true}, {"other,app", true}, {"", false}, {"other", false}, {"app-*", false}} {
		t.Run(tc.allowed, func(t *testing.T) {
			h, _ := newFake(t)
			h.must(logical.UpdateOperation, "config/db", map[string]any{"allowed_roles": tc.allowed})
			h.must(logical.UpdateOperation, "roles/app", map[string]any{"db_name": "db", "creation_statements": "CREATE"})
			_, err := h.do(logical.ReadOperation, "creds/app", nil)
			if tc.ok != (err == nil) {
				t.Fatalf("creds with allowed_roles %q: %v", tc.allowed, err)
			}
			if err != nil {
				wantField(t, err, "name")
			}
		})
	}
}

func TestCredsLeaseAndTTLs(t *testing.T) {
	h, srv := newFake(t)
	for _, tc := range []struct {
		name            string
		def, max        any
		wantTTL, wantMx time.Duration
	}{
		{"role ttls", "10m", "30m", 10 * time.Minute, 30 * time.Minute},
		{"mount default", 0, 0, time.Hour, 0},
		{"mount default capped by role max", 0, "20m", 20 * time.Minute, 20 * time.Minute},
		{"role max above mount max", "1h", "48h", time.Hour, 48 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.must(logical.UpdateOperation, "roles/r", map[string]any{"db_name": "db", "creation_statements": "CREATE", "default_ttl": tc.def, "max_ttl": tc.max})
			ttl, ok, err := h.b.GrantTTL(h.ctx(), &logical.Request{Operation: logical.ReadOperation, Path: "creds/r", Storage: h.store})
			if err != nil || !ok || ttl != tc.wantTTL {
				t.Fatalf("GrantTTL = %v %v %v, want %v", ttl, ok, err, tc.wantTTL)
			}
			user, pw, sec := h.creds("r")
			if sec.Type != database.SecretCredsType || !sec.Renewable || sec.TTL != tc.wantTTL || sec.MaxTTL != tc.wantMx {
				t.Fatalf("lease = %+v", sec)
			}
			if sec.InternalData["username"] != user || sec.InternalData["role"] != "r" || sec.InternalData["db_name"] != "db" {
				t.Fatalf("internal data = %v", sec.InternalData)
			}
			u, ok := srv.user(user)
			if !ok || u.password != pw || !u.expiration.Equal(h.clock.Now().Add(tc.wantTTL)) {
				t.Fatalf("user %q = %+v, %v", user, u, ok)
			}
		})
	}
	for _, req := range []*logical.Request{
		{Operation: logical.ReadOperation, Path: "creds/missing", Storage: h.store},
		{Operation: logical.ReadOperation, Path: "static-creds/r", Storage: h.store},
		{Operation: logical.UpdateOperation, Path: "creds/r", Storage: h.store},
	} {
		if _, ok, err := h.b.GrantTTL(h.ctx(), req); ok || err != nil {
			t.Fatalf("GrantTTL(%s %s) = %v, %v", req.Operation, req.Path, ok, err)
		}
	}
}

func TestCredsErrors(t *testing.T) {
	h, _ := newFake(t)
	wantErr(t, mustFail(h, logical.ReadOperation, "creds/none"), logical.ErrNotFound, "unknown role")
	h.must(logical.UpdateOperation, "roles/nodb", map[string]any{"db_name": "gone", "creation_statements": "CREATE"})
	wantErr(t, mustFail(h, logical.ReadOperation, "creds/nodb"), logical.ErrNotFound, "gone")
	h.must(logical.UpdateOperation, "roles/bad", map[string]any{"db_name": "db", "creation_statements": "FAIL {{password}}"})
	h.sys.mu.Lock()
	n := len(h.sys.policies)
	h.sys.mu.Unlock()
	err := mustFail(h, logical.ReadOperation, "creds/bad")
	if !strings.Contains(err.Error(), "syntax error") || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v", err)
	}
	if h.sys.policies[n] != "" {
		t.Fatalf("policy asked = %q", h.sys.policies[n])
	}
	h.must(logical.UpdateOperation, "config/db", map[string]any{"password_policy": "nope"})
	if err := mustFail(h, logical.ReadOperation, "creds/bad"); !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown password policy: %v", err)
	}
}
