package tokenfields_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func parse(t *testing.T, p *tokenfields.Params, raw map[string]any) error {
	t.Helper()
	d := &framework.FieldData{Raw: raw, Schema: tokenfields.Fields()}
	if err := d.Validate(); err != nil {
		return err
	}
	return p.Parse(d)
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]any
		want    tokenfields.Params
		badName string
	}{
		{"all fields", map[string]any{
			"token_policies": "B, a,a", "token_ttl": "1h", "token_max_ttl": 7200, "token_explicit_max_ttl": "3h",
			"token_period": "30m", "token_num_uses": 3, "token_bound_cidrs": []any{"10.0.0.0/8", " 192.168.1.1"},
			"token_no_default_policy": true, "token_type": "service",
		}, tokenfields.Params{
			Policies: []string{"a", "b"}, TTL: time.Hour, MaxTTL: 2 * time.Hour, ExplicitMaxTTL: 3 * time.Hour,
			Period: 30 * time.Minute, NumUses: 3, BoundCIDRs: []string{"10.0.0.0/8", "192.168.1.1"},
			NoDefaultPolicy: true, Type: "service",
		}, ""},
		{"legacy policies", map[string]any{"policies": []any{"dev"}}, tokenfields.Params{Policies: []string{"dev"}, Type: "default"}, ""},
		{"token_policies wins", map[string]any{"policies": "old", "token_policies": "new"}, tokenfields.Params{Policies: []string{"new"}, Type: "default"}, ""},
		{"default-service is default", map[string]any{"token_type": "default-service"}, tokenfields.Params{Type: "default"}, ""},
		{"ttl above max", map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, tokenfields.Params{}, "token_ttl"},
		{"ttl above explicit max", map[string]any{"token_ttl": "2h", "token_explicit_max_ttl": "1h"}, tokenfields.Params{}, "token_ttl"},
		{"negative ttl", map[string]any{"token_ttl": -5}, tokenfields.Params{}, "token_ttl"},
		{"negative num uses", map[string]any{"token_num_uses": -1}, tokenfields.Params{}, "token_num_uses"},
		{"batch refused", map[string]any{"token_type": "batch"}, tokenfields.Params{}, "token_type"},
		{"bad cidr", map[string]any{"token_bound_cidrs": "10.0.0.0/33"}, tokenfields.Params{}, "token_bound_cidrs"},
		{"not a cidr", map[string]any{"token_bound_cidrs": "example.com"}, tokenfields.Params{}, "token_bound_cidrs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p tokenfields.Params
			err := parse(t, &p, tt.raw)
			if tt.badName != "" {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != tt.badName {
					t.Fatalf("err = %v, want an invalid request naming %s", err, tt.badName)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equal(p, tt.want) {
				t.Fatalf("got %+v, want %+v", p, tt.want)
			}
		})
	}
}

func equal(a, b tokenfields.Params) bool {
	return slices.Equal(a.Policies, b.Policies) && slices.Equal(a.BoundCIDRs, b.BoundCIDRs) &&
		a.TTL == b.TTL && a.MaxTTL == b.MaxTTL && a.ExplicitMaxTTL == b.ExplicitMaxTTL && a.Period == b.Period &&
		a.NumUses == b.NumUses && a.NoDefaultPolicy == b.NoDefaultPolicy && a.Type == b.Type
}

func TestParseKeepsAbsentFields(t *testing.T) {
	p := tokenfields.Params{TTL: time.Hour, Policies: []string{"a"}}
	if err := parse(t, &p, map[string]any{"token_num_uses": 2}); err != nil {
		t.Fatal(err)
	}
	if p.TTL != time.Hour || !slices.Equal(p.Policies, []string{"a"}) || p.NumUses != 2 {
		t.Fatalf("update lost fields: %+v", p)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name       string
		p          tokenfields.Params
		wantMaxTTL time.Duration
	}{
		{"max only", tokenfields.Params{MaxTTL: time.Hour}, time.Hour},
		{"explicit caps max", tokenfields.Params{MaxTTL: 2 * time.Hour, ExplicitMaxTTL: time.Hour}, time.Hour},
		{"explicit alone", tokenfields.Params{ExplicitMaxTTL: time.Hour}, time.Hour},
		{"max below explicit", tokenfields.Params{MaxTTL: time.Minute, ExplicitMaxTTL: time.Hour}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Policies = []string{"a"}
			tt.p.BoundCIDRs = []string{"10.0.0.0/8"}
			tt.p.TTL, tt.p.Period, tt.p.NumUses, tt.p.NoDefaultPolicy = time.Minute, time.Second, 4, true
			var a logical.Auth
			tt.p.Apply(&a)
			if a.MaxTTL != tt.wantMaxTTL || a.TTL != time.Minute || a.Period != time.Second || a.NumUses != 4 ||
				!a.NoDefaultPolicy || !a.Renewable || !slices.Equal(a.Policies, []string{"a"}) || !slices.Equal(a.BoundCIDRs, []string{"10.0.0.0/8"}) {
				t.Fatalf("Apply = %+v", a)
			}
		})
	}
}

func TestResponseData(t *testing.T) {
	m := map[string]any{}
	(&tokenfields.Params{TTL: 90 * time.Second}).ResponseData(m)
	if m["token_ttl"] != int64(90) || m["token_type"] != "default" {
		t.Fatalf("data = %v", m)
	}
	if p, ok := m["token_policies"].([]string); !ok || p == nil {
		t.Fatalf("token_policies = %#v, want an empty list", m["token_policies"])
	}
	if c, ok := m["token_bound_cidrs"].([]string); !ok || c == nil {
		t.Fatalf("token_bound_cidrs = %#v, want an empty list", m["token_bound_cidrs"])
	}
}

func TestSubset(t *testing.T) {
	tests := []struct {
		outer, inner []string
		want         bool
	}{
		{nil, []string{"10.0.0.0/8"}, true},
		{[]string{"10.0.0.0/8"}, []string{"10.1.0.0/16", "10.2.3.4"}, true},
		{[]string{"10.0.0.0/16"}, []string{"10.0.0.0/8"}, false},
		{[]string{"10.0.0.0/8"}, []string{"11.0.0.0/16"}, false},
		{[]string{"10.0.0.0/8"}, nil, true},
	}
	for _, tt := range tests {
		if got := tokenfields.Subset(tt.outer, tt.inner); got != tt.want {
			t.Errorf("Subset(%v, %v) = %v, want %v", tt.outer, tt.inner, got, tt.want)
		}
	}
}
