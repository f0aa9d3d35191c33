package jwt_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestRoleReadDefaults(t *testing.T) {
	h := newHarness(t, nil)
	h.Must(logical.UpdateOperation, "role/Dev", map[string]any{
		"bound_audiences": "a,b", "bound_claims": map[string]any{"env": []any{"prod", "stage"}, "n": 7},
		"claim_mappings": map[string]any{"email": "mail"}, "groups_claim": "groups",
		"token_policies": "p1,p2", "token_ttl": "1h", "token_max_ttl": 7200, "token_bound_cidrs": "10.0.0.0/8",
	})
	got := h.Must(logical.ReadOperation, "role/dev", nil).Data
	want := map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"a", "b"}, "bound_subject": "",
		"bound_claims_type": "string",
		"bound_claims":      map[string]any{"env": []any{"prod", "stage"}, "n": json.Number("7")},
		"claim_mappings":    map[string]string{"email": "mail"},
		"user_claim":        "sub", "user_claim_json_pointer": false, "groups_claim": "groups",
		"expiration_leeway": int64(150), "not_before_leeway": int64(150), "clock_skew_leeway": int64(60),
		"token_policies": []string{"p1", "p2"}, "token_ttl": int64(3600), "token_max_ttl": int64(7200),
		"token_period": int64(0), "token_explicit_max_ttl": int64(0), "token_num_uses": 0,
		"token_bound_cidrs": []string{"10.0.0.0/8"}, "token_no_default_policy": false, "token_type": "default",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("role = %#v\nwant %#v", got, want)
	}

	// An update changes only what it carries.
	h.Must(logical.UpdateOperation, "role/dev", map[string]any{"bound_subject": "svc", "token_ttl": "30m", "clock_skew_leeway": -1})
	got = h.Must(logical.ReadOperation, "role/dev", nil).Data
	if got["bound_subject"] != "svc" || got["token_ttl"] != int64(1800) || got["clock_skew_leeway"] != int64(-1) ||
		!reflect.DeepEqual(got["token_policies"], []string{"p1", "p2"}) || got["groups_claim"] != "groups" {
		t.Fatalf("role after update = %v", got)
	}
}

func TestRoleValidation(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]any
		wantErr string
	}{
		{"oidc role type", map[string]any{"role_type": "oidc", "bound_subject": "x"}, `role_type "oidc" (the browser OIDC flow) is not supported`},
		{"unknown role type", map[string]any{"role_type": "saml", "bound_subject": "x"}, "invalid 'role_type'"},
		{"no bound constraint", map[string]any{"user_claim": "sub"}, "at least one bound constraint"},
		{"bad bound claims type", map[string]any{"bound_subject": "x", "bound_claims_type": "regex"}, "invalid 'bound_claims_type'"},
		{"glob of a number", map[string]any{"bound_claims_type": "glob", "bound_claims": map[string]any{"n": 1}}, "glob values must be strings"},
		{"nested bound claim value", map[string]any{"bound_claims": map[string]any{"n": map[string]any{"a": "b"}}}, "not a string, bool, number or list"},
		{"reserved mapping", map[string]any{"bound_subject": "x", "claim_mappings": map[string]any{"r": "role"}}, "reserved"},
		{"duplicate mapping", map[string]any{"bound_subject": "x", "claim_mappings": map[string]any{"a": "m", "b": "m"}}, "multiple keys"},
		{"empty user claim", map[string]any{"bound_subject": "x", "user_claim": ""}, "a user claim must be defined"},
		{"ttl above max", map[string]any{"bound_subject": "x", "token_ttl": "2h", "token_max_ttl": "1h"}, "cannot be greater"},
		{"negative ttl", map[string]any{"bound_subject": "x", "token_ttl": -5}, "cannot be negative"},
		{"negative uses", map[string]any{"bound_subject": "x", "token_num_uses": -1}, "cannot be negative"},
		{"bad cidr", map[string]any{"token_bound_cidrs": "10.0.0.0/33"}, "invalid CIDR"},
		{"batch tokens", map[string]any{"bound_subject": "x", "token_type": "batch"}, "only service tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			_, err := h.Do(logical.UpdateOperation, "role/r", tc.data)
			if !errors.Is(err, logical.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("write = %v, want 400 %q", err, tc.wantErr)
			}
			if _, err := h.Do(logical.ReadOperation, "role/r", nil); !errors.Is(err, logical.ErrNotFound) {
				t.Fatalf("refused role was stored: %v", err)
			}
		})
	}
}

func TestRoleListDeleteExistence(t *testing.T) {
	h := newHarness(t, nil)
	if _, err := h.Do(logical.ListOperation, "role/", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("empty list = %v", err)
	}
	for _, n := range []string{"b", "a"} {
		h.Must(logical.UpdateOperation, "role/"+n, map[string]any{"bound_subject": "x"})
	}
	if keys := h.Must(logical.ListOperation, "role", nil).Data["keys"]; !reflect.DeepEqual(keys, []string{"a", "b"}) {
		t.Fatalf("keys = %v", keys)
	}
	req := func(path string) *logical.Request {
		return &logical.Request{Operation: logical.UpdateOperation, Path: path, Storage: h.Storage}
	}
	if exists, ok, err := h.b.ExistenceCheck(t.Context(), req("role/a")); !exists || !ok || err != nil {
		t.Fatalf("existence of a = %v %v %v", exists, ok, err)
	}
	h.Must(logical.DeleteOperation, "role/a", nil)
	if exists, ok, err := h.b.ExistenceCheck(t.Context(), req("role/a")); exists || !ok || err != nil {
		t.Fatalf("existence of deleted a = %v %v %v", exists, ok, err)
	}
	if _, err := h.Do(logical.ReadOperation, "role/a", nil); !errors.Is(err, logical.ErrNotFound) {
		t.Fatalf("read deleted = %v", err)
	}
	if _, err := h.Do(logical.ReadOperation, "role/../x", nil); !errors.Is(err, logical.ErrUnsupportedPath) {
		t.Fatalf("bad role name = %v", err)
	}
}
