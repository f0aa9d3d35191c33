package userpass_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/auth/userpass"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestUserCRUD(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "users/Alice", map[string]any{
		"password": "correct horse", "token_policies": "dev,ops", "token_ttl": "1h", "token_max_ttl": "4h",
		"token_bound_cidrs": "10.0.0.0/8", "token_num_uses": 2,
	})
	got := h.Must(logical.ReadOperation, "users/alice", nil).Data
	want := map[string]any{
		"token_policies": []string{"dev", "ops"}, "token_ttl": int64(3600), "token_max_ttl": int64(14400),
		"token_explicit_max_ttl": int64(0), "token_period": int64(0), "token_num_uses": 2,
		"token_bound_cidrs": []string{"10.0.0.0/8"}, "token_no_default_policy": false, "token_type": "default",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read = %#v\nwant %#v", got, want)
	}

	// An update without a password keeps it and changes only what it carries.
	h.Must(logical.UpdateOperation, "users/alice", map[string]any{"ttl": "30m"})
	if got := h.Must(logical.ReadOperation, "users/alice", nil).Data; got["token_ttl"] != int64(1800) || got["token_num_uses"] != 2 {
		t.Fatalf("after update: %v", got)
	}
	if _, err := h.login("10.0.0.1", "alice", "correct horse"); err != nil {
		t.Fatalf("login after an update without password: %v", err)
	}

	h.Must(logical.CreateOperation, "users/bob", map[string]any{"password": "pw"})
	if keys := h.Must(logical.ListOperation, "users/", nil).Data["keys"].([]string); !slices.Equal(keys, []string{"alice", "bob"}) {
		t.Fatalf("list = %v", keys)
	}
	if exists, ok, err := h.b.ExistenceCheck(t.Context(), &logical.Request{Operation: logical.CreateOperation, Path: "users/BOB", Storage: h.Storage}); err != nil || !ok || !exists {
		t.Fatalf("ExistenceCheck(BOB) = %v %v %v", exists, ok, err)
	}

	h.Must(logical.DeleteOperation, "users/ALICE", nil)
	h.Must(logical.DeleteOperation, "users/bob", nil)
	if _, err := h.Do(logical.ReadOperation, "users/alice", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read of a deleted user: %v", err)
	}
	if _, err := h.Do(logical.ListOperation, "users/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("list of no users: %v", err)
	}
	if _, err := h.login("10.0.0.1", "alice", "correct horse"); !errors.Is(err, userpass.ErrInvalidCredentials) {
		t.Fatalf("login of a deleted user: %v", err)
	}
}

func TestUserWriteRefused(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		data  map[string]any
		field string
	}{
		{"create without password", "users/new", map[string]any{"token_ttl": 5}, "password"},
		{"password_hash", "users/new", map[string]any{"password_hash": "$2a$10$x"}, "password_hash"},
		{"ttl above max", "users/new", map[string]any{"password": "p", "token_ttl": "2h", "token_max_ttl": "1h"}, "token_ttl"},
		{"bad cidr", "users/new", map[string]any{"password": "p", "token_bound_cidrs": "300.0.0.1"}, "token_bound_cidrs"},
		{"bad legacy cidr", "users/new", map[string]any{"password": "p", "bound_cidrs": "x"}, "bound_cidrs"},
		{"batch", "users/new", map[string]any{"password": "p", "token_type": "batch"}, "token_type"},
		{"password of a missing user", "users/ghost/password", map[string]any{"password": "p"}, "username"},
		{"empty password", "users/old/password", map[string]any{"password": ""}, "password"},
		{"policies of a missing user", "users/ghost/policies", map[string]any{"token_policies": "a"}, "username"},
		{"policies without policies", "users/old/policies", nil, "token_policies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.Must(logical.CreateOperation, "users/old", map[string]any{"password": "old"})
			_, err := h.Do(logical.UpdateOperation, tt.path, tt.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tt.field {
				t.Fatalf("err = %v, want an invalid request naming %s", err, tt.field)
			}
			if h.stored("new") != "" || h.stored("ghost") != "" {
				t.Fatal("a refused write stored a user")
			}
		})
	}
}

func TestPasswordAndPolicies(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "first", "token_policies": "a"})
	h.Must(logical.UpdateOperation, "users/alice/password", map[string]any{"password": "second"})
	if _, err := h.login("127.0.0.1", "alice", "first"); !errors.Is(err, userpass.ErrInvalidCredentials) {
		t.Fatalf("old password after a reset: %v", err)
	}
	if _, err := h.login("127.0.0.1", "alice", "second"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	h.Must(logical.UpdateOperation, "users/alice/policies", map[string]any{"token_policies": []any{"Z", "b"}})
	resp, err := h.login("127.0.0.1", "alice", "second")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resp.Auth.Policies, []string{"b", "z"}) {
		t.Fatalf("policies = %v", resp.Auth.Policies)
	}
	h.Must(logical.UpdateOperation, "users/alice/policies", map[string]any{"policies": "legacy"})
	if got := h.Must(logical.ReadOperation, "users/alice", nil).Data["token_policies"]; !slices.Equal(got.([]string), []string{"legacy"}) {
		t.Fatalf("legacy policies = %v", got)
	}
}

func TestStoredHashFormat(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.CreateOperation, "users/alice", map[string]any{"password": "hunter2-but-longer"})
	raw := h.stored("alice")
	if !strings.Contains(raw, `$argon2id$v=19$m=64,t=1,p=1$`) {
		t.Fatalf("stored entry %s does not hold an argon2id PHC string with its parameters", raw)
	}
	if strings.Contains(raw, "hunter2-but-longer") {
		t.Fatal("the password is stored in the clear")
	}
	for k, v := range h.Must(logical.ReadOperation, "users/alice", nil).Data {
		if strings.Contains(k, "password") || strings.Contains(fmt.Sprint(v), "argon2id") {
			t.Fatalf("read answers %q: %v", k, v)
		}
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := userpass.Factory(t.Context(), &logical.BackendConfig{Config: map[string]string{"lockout_duration": "-1s"}}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("bad lockout_duration: %v", err)
	}
	if _, err := userpass.New(t.Context(), nil, userpass.WithArgon2Params(userpass.Argon2Params{Memory: 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})); !errors.Is(err, userpass.ErrBadParams) {
		t.Fatalf("tiny memory: %v", err)
	}
	if err := userpass.DefaultArgon2Params().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestRouteInfo(t *testing.T) {
	h := newHarness(t, nil)
	for path, want := range map[string]bool{"login/alice": true, "users/alice": false, "users/alice/password": false} {
		if info, ok := h.b.RouteInfo(path, logical.UpdateOperation); !ok || info.Unauthenticated != want {
			t.Errorf("RouteInfo(%q) = %+v, %v", path, info, ok)
		}
	}
}
