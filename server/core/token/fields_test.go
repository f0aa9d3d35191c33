package token_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core/token"
)

// TestCreateFieldForms pins the JSON shapes create accepts: the forms a
// Vault client sends (numbers arrive as json.Number from server/api) and
// the loose ones Vault accepts. Each request also carries policies "p"
// (unless it sets policies) so the token is not a non-expiring root.
func TestCreateFieldForms(t *testing.T) {
	const defaultLease = 32 * 24 * 3600 // the store's default TTL
	lease := func(want int) func(*logical.Auth) bool {
		return func(a *logical.Auth) bool { return a.LeaseDuration == want }
	}
	meta := func(want map[string]string) func(*logical.Auth) bool {
		return func(a *logical.Auth) bool { return maps.Equal(a.Metadata, want) }
	}
	tests := []struct {
		name string
		data map[string]any
		ok   func(*logical.Auth) bool
	}{
		{"ttl as json.Number", map[string]any{"ttl": json.Number("90")}, lease(90)},
		{"ttl as int", map[string]any{"ttl": 90}, lease(90)},
		{"ttl as float", map[string]any{"ttl": 90.0}, lease(90)},
		{"ttl as numeric string", map[string]any{"ttl": "90"}, lease(90)},
		{"ttl as Go duration", map[string]any{"ttl": "1m30s"}, lease(90)},
		{"ttl in days", map[string]any{"ttl": "1d"}, lease(86400)},
		{"empty ttl is the default", map[string]any{"ttl": ""}, lease(defaultLease)},
		{"null ttl is the default", map[string]any{"ttl": nil}, lease(defaultLease)},
		{"policies as list", map[string]any{"policies": []any{"b", "a"}},
			func(a *logical.Auth) bool { return slices.Equal(a.Policies, []string{"a", "b", "default"}) }},
		{"policies as comma string", map[string]any{"policies": "b, a,,"},
			func(a *logical.Auth) bool { return slices.Equal(a.Policies, []string{"a", "b", "default"}) }},
		{"renewable as string", map[string]any{"renewable": "false"}, func(a *logical.Auth) bool { return !a.Renewable }},
		{"renewable by default", map[string]any{}, func(a *logical.Auth) bool { return a.Renewable }},
		{"num_uses as string", map[string]any{"num_uses": "3"}, func(a *logical.Auth) bool { return a.NumUses == 3 }},
		{"num_uses as json.Number", map[string]any{"num_uses": json.Number("2")}, func(a *logical.Auth) bool { return a.NumUses == 2 }},
		{"meta with scalar values", map[string]any{"meta": map[string]any{"a": "x", "n": json.Number("1"), "b": true}},
			meta(map[string]string{"a": "x", "n": "1", "b": "true"})},
		{"metadata when meta is absent", map[string]any{"metadata": map[string]any{"a": "x"}}, meta(map[string]string{"a": "x"})},
		{"meta wins over metadata", map[string]any{"meta": map[string]any{"a": "m"}, "metadata": map[string]any{"a": "x"}},
			meta(map[string]string{"a": "m"})},
		{"null meta wins over metadata", map[string]any{"meta": nil, "metadata": map[string]any{"a": "x"}}, meta(nil)},
		{"unknown fields are ignored", map[string]any{"lease": "1h", "bogus": map[string]any{}}, lease(defaultLease)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, token.Options{})
			data := maps.Clone(tc.data)
			if _, ok := data["policies"]; !ok {
				data["policies"] = "p"
			}
			_, auth := h.create(h.root, data)
			if !tc.ok(auth) {
				t.Fatalf("auth = %+v", auth)
			}
		})
	}
}

// TestFieldErrorsNameTheField checks every malformed field is a 400 whose
// InvalidRequestError names it.
func TestFieldErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		data    map[string]any
		field   string
		wantMsg string // exact text, when set
	}{
		{name: "ttl word", path: "create", data: map[string]any{"ttl": "soon"}, field: "ttl", wantMsg: `ttl: invalid duration: not a number of seconds or a duration such as "1h30m" or "7d"`},
		{name: "ttl fractional json.Number", path: "create", data: map[string]any{"ttl": json.Number("1.5")}, field: "ttl"},
		{name: "ttl with spaces", path: "create", data: map[string]any{"ttl": " 1h"}, field: "ttl"},
		{name: "ttl days and hours", path: "create", data: map[string]any{"ttl": "1d12h"}, field: "ttl"},
		{name: "ttl bool", path: "create", data: map[string]any{"ttl": true}, field: "ttl"},
		{name: "negative ttl", path: "create", data: map[string]any{"ttl": "-1h"}, field: "ttl", wantMsg: "ttl: ttl must be positive"},
		{name: "negative explicit_max_ttl", path: "create", data: map[string]any{"explicit_max_ttl": -5}, field: "explicit_max_ttl",
			wantMsg: "explicit_max_ttl: explicit_max_ttl must be positive"},
		{name: "negative period", path: "create", data: map[string]any{"period": "-1d"}, field: "period", wantMsg: "period: period must be positive"},
		{name: "no_parent word", path: "create", data: map[string]any{"no_parent": "maybe"}, field: "no_parent"},
		{name: "renewable object", path: "create", data: map[string]any{"renewable": map[string]any{}}, field: "renewable"},
		{name: "num_uses word", path: "create", data: map[string]any{"num_uses": "many"}, field: "num_uses"},
		{name: "num_uses fraction", path: "create", data: map[string]any{"num_uses": 1.5}, field: "num_uses"},
		{name: "policies object", path: "create", data: map[string]any{"policies": map[string]any{}}, field: "policies"},
		{name: "policies nested list", path: "create", data: map[string]any{"policies": []any{[]any{"a"}}}, field: "policies"},
		{name: "meta nested", path: "create", data: map[string]any{"meta": map[string]any{"a": map[string]any{}}}, field: "meta"},
		{name: "metadata string", path: "create", data: map[string]any{"metadata": "a=b"}, field: "metadata"},
		{name: "id object", path: "create", data: map[string]any{"id": map[string]any{}}, field: "id"},
		{name: "lookup token list", path: "lookup", data: map[string]any{"token": []any{}}, field: "token"},
		{name: "accessor object", path: "lookup-accessor", data: map[string]any{"accessor": map[string]any{}}, field: "accessor"},
		{name: "increment word", path: "renew-self", data: map[string]any{"increment": "later"}, field: "increment"},
		{name: "negative increment", path: "renew-self", data: map[string]any{"increment": "-1m"}, field: "increment",
			wantMsg: "increment: increment must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, token.Options{})
			_, err := h.do(h.root, logical.UpdateOperation, tc.path, tc.data)
			var ire *logical.InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != tc.field || !errors.Is(err, logical.ErrInvalidRequest) {
				t.Fatalf("err = %v, want InvalidRequestError on %q", err, tc.field)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Fatalf("error text = %q, want %q", err.Error(), tc.wantMsg)
			}
		})
	}
}
