package approle_test

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRoleCRUD(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "role/Web", map[string]any{
		"token_policies": "b,a", "token_ttl": "1h", "token_max_ttl": "2h", "secret_id_num_uses": 5,
		"secret_id_ttl": "10m", "secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": []any{"10.1.0.0/16"},
		"token_num_uses": 7, "token_period": 0, "token_no_default_policy": true, "token_type": "service",
	})
	got := h.Must(logical.ReadOperation, "role/web", nil).Data
	want := map[string]any{
		"bind_secret_id": true, "secret_id_bound_cidrs": []string{"10.0.0.0/8"}, "secret_id_num_uses": 5,
		"secret_id_ttl": int64(600), "local_secret_ids": false,
		"token_policies": []string{"a", "b"}, "token_ttl": int64(3600), "token_max_ttl": int64(7200),
		"token_explicit_max_ttl": int64(0), "token_period": int64(0), "token_num_uses": 7,
		"token_bound_cidrs": []string{"10.1.0.0/16"}, "token_no_default_policy": true, "token_type": "service",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read = %#v\nwant %#v", got, want)
	}

	// An update changes only the fields it carries.
	h.Must(logical.UpdateOperation, "role/web", map[string]any{"token_ttl": "30m", "policies": "legacy"})
	got = h.Must(logical.ReadOperation, "role/web", nil).Data
	if got["token_ttl"] != int64(1800) || got["secret_id_num_uses"] != 5 || !slices.Equal(got["token_policies"].([]string), []string{"legacy"}) {
		t.Fatalf("after update: %v", got)
	}

	h.Must(logical.CreateOperation, "role/db", nil)
	keys := h.Must(logical.ListOperation, "role/", nil).Data["keys"].([]string)
	if !slices.Equal(keys, []string{"db", "web"}) {
		t.Fatalf("list = %v", keys)
	}
	if exists, ok, err := h.b.ExistenceCheck(t.Context(), &logical.Request{Operation: logical.CreateOperation, Path: "role/db", Storage: h.Storage}); err != nil || !ok || !exists {
		t.Fatalf("ExistenceCheck(db) = %v %v %v", exists, ok, err)
	}

	h.Must(logical.DeleteOperation, "role/web", nil)
	h.Must(logical.DeleteOperation, "role/db", nil)
	if _, err := h.Do(logical.ReadOperation, "role/web", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read deleted role: %v", err)
	}
	if _, err := h.Do(logical.ListOperation, "role/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("list of no roles: %v", err)
	}
	if keys := h.List("role_id/"); len(keys) != 0 {
		t.Fatalf("role_id index left behind: %v", keys)
	}
}

func TestRoleDefaults(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "role/plain", nil)
	got := h.Must(logical.ReadOperation, "role/plain", nil).Data
	want := map[string]any{
		"bind_secret_id": true, "secret_id_bound_cidrs": []string{}, "secret_id_num_uses": 0,
		"secret_id_ttl": int64(0), "local_secret_ids": false,
		"token_policies": []string{}, "token_ttl": int64(0), "token_max_ttl": int64(0),
		"token_explicit_max_ttl": int64(0), "token_period": int64(0), "token_num_uses": 0,
		"token_bound_cidrs": []string{}, "token_no_default_policy": false, "token_type": "default",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read = %#v\nwant %#v", got, want)
	}
	if _, ok := got["role_id"]; ok {
		t.Fatal("role read carries role_id (Vault's does not)")
	}
}

func TestRoleValidation(t *testing.T) {
	tests := []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"bad secret_id_bound_cidrs", map[string]any{"secret_id_bound_cidrs": "10.0.0.0/99"}, "secret_id_bound_cidrs"},
		{"bad legacy bound_cidr_list", map[string]any{"bound_cidr_list": "nope"}, "bound_cidr_list"},
		{"bad token_bound_cidrs", map[string]any{"token_bound_cidrs": "1.2.3"}, "token_bound_cidrs"},
		{"negative secret_id_num_uses", map[string]any{"secret_id_num_uses": -1}, "secret_id_num_uses"},
		{"negative secret_id_ttl", map[string]any{"secret_id_ttl": -1}, "secret_id_ttl"},
		{"ttl above max", map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, "token_ttl"},
		{"batch tokens", map[string]any{"token_type": "batch"}, "token_type"},
		{"local secret ids", map[string]any{"local_secret_ids": true}, "local_secret_ids"},
		{"no constraint", map[string]any{"bind_secret_id": false}, "bind_secret_id"},
		{"empty role_id", map[string]any{"role_id": "  "}, "role_id"},
		{"bad duration", map[string]any{"secret_id_ttl": "soon"}, "secret_id_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			_, err := h.Do(logical.CreateOperation, "role/r", tt.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tt.field {
				t.Fatalf("err = %v, want an invalid request naming %s", err, tt.field)
			}
			if _, err := h.Do(logical.ReadOperation, "role/r", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("refused role was stored: %v", err)
			}
		})
	}
}

func TestRoleConstraintsWithoutSecretID(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "role/cidr", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "10.0.0.0/8"})
	h.Must(logical.CreateOperation, "role/tok", map[string]any{"bind_secret_id": false, "token_bound_cidrs": "10.0.0.0/8"})
	if _, err := h.Do(logical.UpdateOperation, "role/cidr/secret-id", nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("secret id for a role without bind_secret_id: %v", err)
	}
}

func TestRoleID(t *testing.T) {
	h := newHarness(t, nil)
	oldID := h.role("app", map[string]any{"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.0/8"})
	if len(oldID) != 36 {
		t.Fatalf("generated role_id %q is not a UUID", oldID)
	}
	if _, err := h.login("127.0.0.1", oldID, ""); err != nil {
		t.Fatalf("login: %v", err)
	}
	h.Must(logical.UpdateOperation, "role/app/role-id", map[string]any{"role_id": "custom-id"})
	if got := h.Must(logical.ReadOperation, "role/app/role-id", nil).Data["role_id"]; got != "custom-id" {
		t.Fatalf("role_id = %v", got)
	}
	if _, err := h.login("127.0.0.1", oldID, ""); !errors.Is(err, approle.ErrInvalidCredentials) {
		t.Fatalf("login with the old role_id: %v", err)
	}
	if _, err := h.login("127.0.0.1", "custom-id", ""); err != nil {
		t.Fatalf("login with the new role_id: %v", err)
	}

	h.Must(logical.CreateOperation, "role/other", nil)
	_, err := h.Do(logical.UpdateOperation, "role/other/role-id", map[string]any{"role_id": "custom-id"})
	var ire *logical.InvalidRequestError
	if !errors.As(err, &ire) || ire.Field != "role_id" {
		t.Fatalf("taking another role's role_id: %v", err)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/role-id", nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("role-id write without role_id: %v", err)
	}
	if _, err := h.Do(logical.ReadOperation, "role/missing/role-id", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("role-id of a missing role: %v", err)
	}
	if keys := h.List("role_id/"); len(keys) != 2 {
		t.Fatalf("role_id index = %v, want one entry per role", keys)
	}
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t, nil)
	tests := map[string]bool{"login": true, "role/x": false, "role/x/secret-id": false, "tidy/secret-id": false}
	for _, p := range slices.Sorted(maps.Keys(tests)) {
		info, ok := h.b.RouteInfo(p, logical.UpdateOperation)
		if !ok || info.Unauthenticated != tests[p] {
			t.Errorf("RouteInfo(%q) = %+v, %v; want unauthenticated=%v", p, info, ok, tests[p])
		}
	}
}

func TestBadMountOptions(t *testing.T) {
	_, err := approle.Factory(t.Context(), &logical.BackendConfig{Config: map[string]string{"lockout_threshold": "zero"}})
	if !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("Factory with a bad lockout_threshold: %v", err)
	}
	if b, err := approle.Factory(t.Context(), nil); err != nil || b == nil {
		t.Fatalf("Factory(nil) = %v, %v", b, err)
	}
}
