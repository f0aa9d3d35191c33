package tokenfields_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// legacySchema is Fields plus every deprecated name a method may declare.
func legacySchema() map[string]*framework.FieldSchema {
	return tokenfields.With(map[string]*framework.FieldSchema{
		"ttl":         {Type: framework.TypeDuration},
		"max_ttl":     {Type: framework.TypeDuration},
		"period":      {Type: framework.TypeDuration},
		"num_uses":    {Type: framework.TypeInt},
		"bound_cidrs": {Type: framework.TypeStringSlice},
	})
}

func TestParseLegacyNames(t *testing.T) {
	tests := []struct {
		name    string
		schema  map[string]*framework.FieldSchema
		raw     map[string]any
		want    tokenfields.Params
		badName string
	}{
		{"legacy names read", legacySchema(), map[string]any{
			"ttl": "1h", "max_ttl": "2h", "period": "5m", "num_uses": 4, "bound_cidrs": "10.0.0.0/8",
		}, tokenfields.Params{TTL: time.Hour, MaxTTL: 2 * time.Hour, Period: 5 * time.Minute, NumUses: 4,
			BoundCIDRs: []string{"10.0.0.0/8"}, Type: "default"}, ""},
		{"token_ names win", legacySchema(), map[string]any{"ttl": "1h", "token_ttl": "2m", "num_uses": 4, "token_num_uses": 1},
			tokenfields.Params{TTL: 2 * time.Minute, NumUses: 1, Type: "default"}, ""},
		{"undeclared legacy names ignored", tokenfields.Fields(), map[string]any{"ttl": "1h", "bound_cidrs": "10.0.0.0/8"},
			tokenfields.Params{Type: "default"}, ""},
		{"undeclared fields ignored", tokenfields.BasicFields(), map[string]any{"token_type": "batch", "token_explicit_max_ttl": "1h", "policies": "p"},
			tokenfields.Params{Type: "default"}, ""},
		{"bad legacy cidr names its field", legacySchema(), map[string]any{"bound_cidrs": "nope"}, tokenfields.Params{}, "bound_cidrs"},
		{"legacy ttl above max", legacySchema(), map[string]any{"ttl": "2h", "token_max_ttl": "1h"}, tokenfields.Params{}, "token_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &framework.FieldData{Raw: tt.raw, Schema: tt.schema}
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			var p tokenfields.Params
			err := p.Parse(d)
			if tt.badName != "" {
				var ire *logical.InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != tt.badName {
					t.Fatalf("err = %v, want an invalid request naming %s", err, tt.badName)
				}
				return
			}
			if err != nil || !equal(p, tt.want) {
				t.Fatalf("Parse = %+v, %v; want %+v", p, err, tt.want)
			}
		})
	}
}

func TestUpdateDoesNotValidate(t *testing.T) {
	d := &framework.FieldData{Raw: map[string]any{"token_ttl": "2h", "token_max_ttl": "1h"}, Schema: tokenfields.Fields()}
	var p tokenfields.Params
	if err := p.Update(d); err != nil || p.TTL != 2*time.Hour || p.MaxTTL != time.Hour {
		t.Fatalf("Update = %+v, %v", p, err)
	}
	if err := p.Validate(); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("Validate = %v, want an invalid request", err)
	}
}

func TestBasicFieldsAndResponseData(t *testing.T) {
	basic := slices.Sorted(maps.Keys(tokenfields.BasicFields()))
	want := []string{"token_bound_cidrs", "token_max_ttl", "token_no_default_policy", "token_num_uses", "token_period", "token_policies", "token_ttl"}
	if !slices.Equal(basic, want) {
		t.Fatalf("BasicFields = %v, want %v", basic, want)
	}
	m := map[string]any{}
	p := tokenfields.Params{ExplicitMaxTTL: time.Hour, Type: "service"}
	p.BasicResponseData(m)
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("BasicResponseData keys = %v, want %v", got, want)
	}
	full := map[string]any{}
	p.ResponseData(full)
	if len(full) != len(tokenfields.Fields())-1 || full["token_explicit_max_ttl"] != int64(3600) || full["token_type"] != "service" {
		t.Fatalf("ResponseData = %v", full)
	}
}

func TestPrefixForm(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"127.0.0.1", "10.1.2.3/8", "2001:db8::1"}, []string{"127.0.0.1/32", "10.0.0.0/8", "2001:db8::1/128"}},
		{[]string{"::ffff:10.0.0.1", "bad"}, []string{"10.0.0.1/32"}},
	}
	for _, tt := range tests {
		if got := tokenfields.PrefixForm(tt.in); !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
			t.Errorf("PrefixForm(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
