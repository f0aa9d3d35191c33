// Package tokenfields is the token_* parameters every auth method's roles
// and users share (Vault's sdk/helper/tokenutil): their field schemas,
// parsing and validation of a write, their rendering on a read, and how
// they fill the login request a logical.Auth carries to core. It also
// holds the CIDR helpers the auth methods check client addresses with.
//
// Methods offer one of two field sets: Fields (all of tokenutil's, as
// approle, userpass and jwt do) or BasicFields (the seven a method
// without token_type and token_explicit_max_ttl offers, as cert and
// keypair do), and render the matching ResponseData or BasicResponseData.
// Vault's deprecated names (policies, ttl, max_ttl, period, num_uses,
// bound_cidrs) are read by Parse when a method declares them in its
// schema and the token_ name is absent.
package tokenfields

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Token types a role may ask for. Only service tokens exist, so "default"
// means "service"; "batch" is refused.
const (
	TypeDefault = "default"
	TypeService = "service"
)

// Params are the token settings of a role or a user, as stored. The JSON
// tags are the storage form (durations in nanoseconds), not the API form:
// use ResponseData for a read.
type Params struct {
	Policies        []string      `json:"token_policies,omitempty"`
	TTL             time.Duration `json:"token_ttl,omitempty"`
	MaxTTL          time.Duration `json:"token_max_ttl,omitempty"`
	ExplicitMaxTTL  time.Duration `json:"token_explicit_max_ttl,omitempty"`
	Period          time.Duration `json:"token_period,omitempty"`
	NumUses         int           `json:"token_num_uses,omitempty"`
	BoundCIDRs      []string      `json:"token_bound_cidrs,omitempty"`
	NoDefaultPolicy bool          `json:"token_no_default_policy,omitempty"`
	Type            string        `json:"token_type,omitempty"`
}

// Fields returns the schemas of all the token_* fields and of the legacy
// "policies" (an alias of token_policies, as in Vault). Each call returns
// fresh schemas the caller may add to.
func Fields() map[string]*framework.FieldSchema {
	m := BasicFields()
	m["policies"] = &framework.FieldSchema{Type: framework.TypeStringSlice, Description: `Deprecated: use "token_policies".`}
	m["token_explicit_max_ttl"] = &framework.FieldSchema{Type: framework.TypeDuration, Description: "Hard cap on the generated token's lifetime."}
	m["token_type"] = &framework.FieldSchema{Type: framework.TypeString, Description: `Token type: "service" or "default".`}
	return m
}

// BasicFields returns the schemas of the seven token_* fields a method
// without token_type and token_explicit_max_ttl offers (and no legacy
// names). Each call returns fresh schemas the caller may add to.
func BasicFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"token_policies":          {Type: framework.TypeStringSlice, Description: "Policies of the generated token."},
		"token_ttl":               {Type: framework.TypeDuration, Description: "Initial TTL of the generated token."},
		"token_max_ttl":           {Type: framework.TypeDuration, Description: "Maximum lifetime of the generated token."},
		"token_period":            {Type: framework.TypeDuration, Description: "Renewal period of a periodic token."},
		"token_num_uses":          {Type: framework.TypeInt, Description: "Uses of the generated token; 0 is unlimited."},
		"token_bound_cidrs":       {Type: framework.TypeStringSlice, Description: "CIDR blocks the generated token may be used from (and, where the method checks it, the login made from)."},
		"token_no_default_policy": {Type: framework.TypeBool, Description: "Leave the default policy off the generated token."},
	}
}

// WithBasic returns fields merged with BasicFields() (fields win).
func WithBasic(fields map[string]*framework.FieldSchema) map[string]*framework.FieldSchema {
	out := BasicFields()
	maps.Copy(out, fields)
	return out
}

// With returns fields merged with Fields() (fields win on a clash).
func With(fields map[string]*framework.FieldSchema) map[string]*framework.FieldSchema {
	out := Fields()
	maps.Copy(out, fields)
	return out
}

// Parse updates p from the token fields present in d (absent fields keep
// their value, so the same call serves a create and an update) and
// validates the result: Update, then Validate. Errors are
// *logical.InvalidRequestError naming the field.
func (p *Params) Parse(d *framework.FieldData) error {
	if err := p.Update(d); err != nil {
		return err
	}
	return p.Validate()
}

// legacyNames maps each token_ field to its deprecated name.
var legacyNames = map[string]string{
	"token_policies": "policies", "token_ttl": "ttl", "token_max_ttl": "max_ttl",
	"token_period": "period", "token_num_uses": "num_uses", "token_bound_cidrs": "bound_cidrs",
}

// get returns the value of field name in d, else of its deprecated name
// (read only when the schema declares it), and the name it came from.
func get(d *framework.FieldData, name string) (any, string, bool) {
	if v, ok := d.GetOk(name); ok {
		return v, name, true
	}
	if legacy, ok := legacyNames[name]; ok && !d.Has(name) {
		if v, ok := d.GetOk(legacy); ok {
			return v, legacy, true
		}
	}
	return nil, "", false
}

// Update sets on p the token fields present in d, without Validate (for
// a method that checks the merged result in its own words first). A
// field's deprecated name counts when its token_ name is absent;
// token_bound_cidrs is checked here.
func (p *Params) Update(d *framework.FieldData) error {
	if v, _, ok := get(d, "token_policies"); ok {
		p.Policies = SanitizePolicies(v.([]string))
	}
	for name, dst := range map[string]*time.Duration{
		"token_ttl": &p.TTL, "token_max_ttl": &p.MaxTTL,
		"token_explicit_max_ttl": &p.ExplicitMaxTTL, "token_period": &p.Period,
	} {
		if v, _, ok := get(d, name); ok {
			*dst = v.(time.Duration)
		}
	}
	if v, _, ok := get(d, "token_num_uses"); ok {
		p.NumUses = v.(int)
	}
	if v, ok := d.GetOk("token_no_default_policy"); ok {
		p.NoDefaultPolicy = v.(bool)
	}
	if v, field, ok := get(d, "token_bound_cidrs"); ok {
		cidrs, err := ParseCIDRs(field, v.([]string))
		if err != nil {
			return err
		}
		p.BoundCIDRs = cidrs
	}
	if v, ok := d.GetOk("token_type"); ok {
		p.Type = v.(string)
	}
	return nil
}

// Validate checks p: no negative TTL or use count, token_ttl not above
// token_max_ttl (nor token_explicit_max_ttl) when both are set, a known
// token type and well-formed bound CIDRs. An empty type becomes "default".
func (p *Params) Validate() error {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"token_ttl", p.TTL}, {"token_max_ttl", p.MaxTTL}, {"token_explicit_max_ttl", p.ExplicitMaxTTL}, {"token_period", p.Period}} {
		if f.v < 0 {
			return logical.InvalidRequest(f.name, "cannot be negative")
		}
	}
	if p.NumUses < 0 {
		return logical.InvalidRequest("token_num_uses", "cannot be negative")
	}
	if p.TTL > 0 && p.MaxTTL > 0 && p.TTL > p.MaxTTL {
		return logical.InvalidRequest("token_ttl", "cannot be greater than token_max_ttl")
	}
	if p.TTL > 0 && p.ExplicitMaxTTL > 0 && p.TTL > p.ExplicitMaxTTL {
		return logical.InvalidRequest("token_ttl", "cannot be greater than token_explicit_max_ttl")
	}
	switch p.Type {
	case "", "default-service":
		p.Type = TypeDefault
	case TypeDefault, TypeService:
	default:
		return logical.InvalidRequest("token_type", "only service tokens are supported: must be %q or %q", TypeService, TypeDefault)
	}
	if _, err := ParseCIDRs("token_bound_cidrs", p.BoundCIDRs); err != nil {
		return err
	}
	return nil
}

// ResponseData adds all the token fields (those of Fields) to a read's
// data in Vault's JSON shape: durations in whole seconds, lists never
// null.
func (p *Params) ResponseData(m map[string]any) {
	p.BasicResponseData(m)
	m["token_explicit_max_ttl"] = int64(p.ExplicitMaxTTL / time.Second)
	typ := p.Type
	if typ == "" {
		typ = TypeDefault
	}
	m["token_type"] = typ
}

// BasicResponseData adds the seven fields of BasicFields to a read's
// data, in the shape of ResponseData.
func (p *Params) BasicResponseData(m map[string]any) {
	m["token_policies"] = nonNil(p.Policies)
	m["token_ttl"] = int64(p.TTL / time.Second)
	m["token_max_ttl"] = int64(p.MaxTTL / time.Second)
	m["token_period"] = int64(p.Period / time.Second)
	m["token_num_uses"] = p.NumUses
	m["token_bound_cidrs"] = nonNil(p.BoundCIDRs)
	m["token_no_default_policy"] = p.NoDefaultPolicy
}

// Apply fills the token request fields of a login's Auth: policies, TTL,
// max TTL (token_explicit_max_ttl caps it, since logical.Auth has no
// separate explicit max), period, use count, bound CIDRs, the default
// policy switch; tokens from a login are renewable.
func (p *Params) Apply(a *logical.Auth) {
	a.Policies = slices.Clone(nonNil(p.Policies))
	a.TTL = p.TTL
	a.MaxTTL = p.MaxTTL
	if p.ExplicitMaxTTL > 0 && (a.MaxTTL == 0 || p.ExplicitMaxTTL < a.MaxTTL) {
		a.MaxTTL = p.ExplicitMaxTTL
	}
	a.Period = p.Period
	a.NumUses = p.NumUses
	a.BoundCIDRs = slices.Clone(p.BoundCIDRs)
	a.NoDefaultPolicy = p.NoDefaultPolicy
	a.Renewable = true
}

// SanitizePolicies trims, lowercases, deduplicates and sorts policy
// names and drops empty ones, as Vault's policyutil does.
func SanitizePolicies(in []string) []string {
	out := make([]string, 0, len(in))
	for _, p := range in {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
