package approle_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/approle"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

func TestSecretIDGenerate(t *testing.T) {
	h := newHarness(t, nil)
	h.role("app", map[string]any{"secret_id_num_uses": 3, "secret_id_ttl": "1h"})
	resp := h.Must(logical.UpdateOperation, "role/app/secret-id", map[string]any{
		"metadata": `{"team":"ops"}`, "cidr_list": "127.0.0.0/8", "num_uses": 2, "ttl": "30m",
	})
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range resp.Data {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"secret_id", "secret_id_accessor", "secret_id_num_uses", "secret_id_ttl"}) {
		t.Fatalf("generate answers %v", keys)
	}
	if resp.Data["secret_id_ttl"] != int64(1800) || resp.Data["secret_id_num_uses"] != 2 {
		t.Fatalf("generate = %v", resp.Data)
	}
	// Defaults come from the role.
	resp = h.Must(logical.UpdateOperation, "role/app/secret-id", nil)
	if resp.Data["secret_id_ttl"] != int64(3600) || resp.Data["secret_id_num_uses"] != 3 {
		t.Fatalf("generate with role defaults = %v", resp.Data)
	}
}

func TestSecretIDGenerateRefused(t *testing.T) {
	tests := []struct {
		name  string
		data  map[string]any
		field string
	}{
		{"num_uses above the role's", map[string]any{"num_uses": 4}, "num_uses"},
		{"unlimited uses on a limited role", map[string]any{"num_uses": 0}, "num_uses"},
		{"negative num_uses", map[string]any{"num_uses": -1}, "num_uses"},
		{"ttl above the role's", map[string]any{"ttl": "2h"}, "ttl"},
		{"no expiry on an expiring role", map[string]any{"ttl": 0}, "ttl"},
		{"cidr_list outside the role's", map[string]any{"cidr_list": "11.0.0.0/8"}, "cidr_list"},
		{"bad cidr_list", map[string]any{"cidr_list": "10.0.0.0/40"}, "cidr_list"},
		{"token_bound_cidrs outside the role's", map[string]any{"token_bound_cidrs": "192.168.0.0/16"}, "token_bound_cidrs"},
		{"bad metadata", map[string]any{"metadata": `{"a":1}`}, "metadata"},
		{"bad metadata pairs", map[string]any{"metadata": "novalue"}, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.role("app", map[string]any{"secret_id_num_uses": 3, "secret_id_ttl": "1h",
				"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/8"})
			_, err := h.Do(logical.UpdateOperation, "role/app/secret-id", tt.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tt.field {
				t.Fatalf("err = %v, want an invalid request naming %s", err, tt.field)
			}
			if keys := h.List("accessor/"); len(keys) != 0 {
				t.Fatalf("a refused secret id was stored: %v", keys)
			}
		})
	}
	h := newHarness(t, nil)
	if _, err := h.Do(logical.UpdateOperation, "role/none/secret-id", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("secret id of a missing role: %v", err)
	}
}

func TestSecretIDLookupListDestroy(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	created := h.Clock.Now()
	secret, accessor := h.secretID("app", map[string]any{"metadata": "team=ops,env=prod", "cidr_list": "127.0.0.1", "ttl": "1h", "num_uses": 4})
	_, accessor2 := h.secretID("app", nil)

	want := map[string]any{
		"secret_id_accessor": accessor, "secret_id_num_uses": 4, "secret_id_ttl": int64(3600),
		"creation_time": created, "expiration_time": created.Add(time.Hour), "last_updated_time": created,
		"metadata": map[string]string{"team": "ops", "env": "prod"}, "cidr_list": []string{"127.0.0.1"},
		"token_bound_cidrs": []string{},
	}
	got := h.Must(logical.UpdateOperation, "role/app/secret-id/lookup", map[string]any{"secret_id": secret}).Data
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lookup = %#v\nwant %#v", got, want)
	}
	got = h.Must(logical.UpdateOperation, "role/app/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": accessor}).Data
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("accessor lookup = %#v\nwant %#v", got, want)
	}
	if resp := h.Must(logical.UpdateOperation, "role/app/secret-id/lookup", map[string]any{"secret_id": "nope"}); resp != nil {
		t.Fatalf("lookup of an unknown secret id = %v", resp)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/secret-id-accessor/lookup", map[string]any{"secret_id_accessor": "nope"}); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("lookup of an unknown accessor: %v", err)
	}

	keys := h.Must(logical.ListOperation, "role/app/secret-id", nil).Data["keys"].([]string)
	if !slices.Equal(keys, slices.Sorted(slices.Values([]string{accessor, accessor2}))) {
		t.Fatalf("list = %v, want the two accessors", keys)
	}

	// An accessor of one role does not reach another role's secret ids.
	h.role("other", nil)
	if _, err := h.Do(logical.UpdateOperation, "role/other/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor}); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("destroy through another role: %v", err)
	}

	h.Must(logical.UpdateOperation, "role/app/secret-id/destroy", map[string]any{"secret_id": secret})
	if _, err := h.login("127.0.0.1", roleID, secret); !errors.Is(err, approle.ErrInvalidCredentials) {
		t.Fatalf("login with a destroyed secret id: %v", err)
	}
	h.Must(logical.DeleteOperation, "role/app/secret-id-accessor/destroy", map[string]any{"secret_id_accessor": accessor2})
	if _, err := h.Do(logical.ListOperation, "role/app/secret-id", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("list after destroying both: %v", err)
	}
	if keys := h.List("accessor/"); len(keys) != 0 {
		t.Fatalf("accessors left behind: %v", keys)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/secret-id/destroy", nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("destroy without secret_id: %v", err)
	}
}

func TestCustomSecretID(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	resp := h.Must(logical.UpdateOperation, "role/app/custom-secret-id", map[string]any{"secret_id": "my-chosen-secret"})
	if resp.Data["secret_id"] != "my-chosen-secret" || resp.Data["secret_id_accessor"] == "" {
		t.Fatalf("custom secret id = %v", resp.Data)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/custom-secret-id", map[string]any{"secret_id": "my-chosen-secret"}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("registering it twice: %v", err)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/custom-secret-id", nil); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("custom secret id without secret_id: %v", err)
	}
	if _, err := h.Do(logical.UpdateOperation, "role/app/custom-secret-id", map[string]any{"secret_id": strings.Repeat("x", 4097)}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("oversized custom secret id: %v", err)
	}
	if _, err := h.login("127.0.0.1", roleID, "my-chosen-secret"); err != nil {
		t.Fatalf("login with the custom secret id: %v", err)
	}
}

func TestRoleDeleteRemovesSecretIDs(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	secret, _ := h.secretID("app", nil)
	h.secretID("app", nil)
	h.Must(logical.DeleteOperation, "role/app", nil)
	for _, p := range []string{"secret_id/app/", "accessor/", "role_id/", "role/"} {
		if keys := h.List(p); len(keys) != 0 {
			t.Errorf("%s left behind: %v", p, keys)
		}
	}
	// A new role of the same name and role_id does not revive them.
	h.Must(logical.CreateOperation, "role/app", map[string]any{"role_id": roleID})
	if _, err := h.login("127.0.0.1", roleID, secret); !errors.Is(err, approle.ErrInvalidCredentials) {
		t.Fatalf("old secret id after the role was recreated: %v", err)
	}
}

func TestTidy(t *testing.T) {
	h := newHarness(t, nil)
	roleID := h.role("app", nil)
	h.secretID("app", map[string]any{"ttl": "1m"})
	h.secretID("app", map[string]any{"ttl": "1m"})
	keep, _ := h.secretID("app", map[string]any{"ttl": "1h"})
	h.Clock.Advance(2 * time.Minute)
	resp := h.Must(logical.UpdateOperation, "tidy/secret-id", nil)
	if resp.Data["secret_ids_deleted"] != 2 {
		t.Fatalf("tidy = %v, want 2 secret ids deleted", resp.Data)
	}
	if n := len(h.List("secret_id/app/")); n != 1 {
		t.Fatalf("%d secret ids left, want 1", n)
	}
	if n := len(h.List("accessor/")); n != 1 {
		t.Fatalf("%d accessors left, want 1", n)
	}
	if _, err := h.login("127.0.0.1", roleID, keep); err != nil {
		t.Fatalf("tidy removed a live secret id: %v", err)
	}
	// A dangling accessor (its secret id gone without it) is removed too.
	if err := h.Storage.Put(t.Context(), &storage.Entry{Key: "accessor/dangling", Value: []byte(`{"role_name":"app","secret_id_hmac":"00"}`)}); err != nil {
		t.Fatal(err)
	}
	resp = h.Must(logical.UpdateOperation, "tidy/secret-id", nil)
	if resp.Data["accessors_deleted"] != 1 || len(h.List("accessor/")) != 1 {
		t.Fatalf("tidy of a dangling accessor = %v", resp.Data)
	}
}
