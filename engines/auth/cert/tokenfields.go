package cert

import (
	"net/netip"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// tokenFields are the token_* fields of a role (Vault's tokenutil subset
// this method supports).
func tokenFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"token_policies":          {Type: framework.TypeStringSlice, Description: "Policies of the tokens issued."},
		"token_ttl":               {Type: framework.TypeDuration, Description: "Initial TTL of the tokens issued; 0 means the mount's default."},
		"token_max_ttl":           {Type: framework.TypeDuration, Description: "Maximum TTL of the tokens issued; 0 means the mount's."},
		"token_period":            {Type: framework.TypeDuration, Description: "Makes the tokens periodic with this period."},
		"token_num_uses":          {Type: framework.TypeInt, Description: "Uses of a token before it is revoked; 0 is unlimited."},
		"token_bound_cidrs":       {Type: framework.TypeStringSlice, Description: "CIDR blocks a login must come from and the tokens may be used from."},
		"token_no_default_policy": {Type: framework.TypeBool, Description: "Leave the default policy off the tokens issued."},
	}
}

// tokenInput is the decoded form of tokenFields; nil means "not sent".
type tokenInput struct {
	TokenPolicies        *[]string      `json:"token_policies"`
	TokenTTL             *time.Duration `json:"token_ttl"`
	TokenMaxTTL          *time.Duration `json:"token_max_ttl"`
	TokenPeriod          *time.Duration `json:"token_period"`
	TokenNumUses         *int           `json:"token_num_uses"`
	TokenBoundCIDRs      *[]string      `json:"token_bound_cidrs"`
	TokenNoDefaultPolicy *bool          `json:"token_no_default_policy"`
}

// apply validates the input and sets what it carries on p.
func (in *tokenInput) apply(p *tokenParams) error {
	for name, d := range map[string]*time.Duration{"token_ttl": in.TokenTTL, "token_max_ttl": in.TokenMaxTTL, "token_period": in.TokenPeriod} {
		if d != nil && *d < 0 {
			return logical.InvalidRequest(name, "must not be negative")
		}
	}
	if in.TokenNumUses != nil && *in.TokenNumUses < 0 {
		return logical.InvalidRequest("token_num_uses", "must not be negative")
	}
	if in.TokenPolicies != nil {
		p.TokenPolicies = cleanPolicies(*in.TokenPolicies)
	}
	if in.TokenBoundCIDRs != nil {
		cidrs, err := parseCIDRs(*in.TokenBoundCIDRs)
		if err != nil {
			return err
		}
		p.TokenBoundCIDRs = cidrs
	}
	setIf(&p.TokenTTL, in.TokenTTL)
	setIf(&p.TokenMaxTTL, in.TokenMaxTTL)
	setIf(&p.TokenPeriod, in.TokenPeriod)
	setIf(&p.TokenNumUses, in.TokenNumUses)
	setIf(&p.TokenNoDefaultPolicy, in.TokenNoDefaultPolicy)
	if p.TokenMaxTTL != 0 && p.TokenTTL > p.TokenMaxTTL {
		return logical.InvalidRequest("", "ttl should be shorter than max_ttl")
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// cleanPolicies trims, lower-cases and de-duplicates policy names, as
// Vault's policyutil.SanitizePolicies does (without adding "default").
func cleanPolicies(in []string) []string {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// parseCIDRs validates CIDR blocks (a bare address is a single-address
// block) and returns them in canonical form.
func parseCIDRs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		pfx, err := parsePrefix(s)
		if err != nil {
			return nil, logical.InvalidRequest("token_bound_cidrs", "invalid CIDR block %q", s)
		}
		out = append(out, pfx.String())
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// addrAllowed reports whether remote is inside one of cidrs (true when
// cidrs is empty).
func addrAllowed(remote string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	a, err := netip.ParseAddr(remote)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// render adds the token_* fields to a read's data, as Vault's tokenutil
// does (durations in whole seconds, empty lists as []).
func (p *tokenParams) render(m map[string]any) {
	m["token_policies"] = nonNil(p.TokenPolicies)
	m["token_ttl"] = int64(p.TokenTTL / time.Second)
	m["token_max_ttl"] = int64(p.TokenMaxTTL / time.Second)
	m["token_period"] = int64(p.TokenPeriod / time.Second)
	m["token_num_uses"] = p.TokenNumUses
	m["token_bound_cidrs"] = nonNil(p.TokenBoundCIDRs)
	m["token_no_default_policy"] = p.TokenNoDefaultPolicy
}

// populate fills the token request of a login's Auth.
func (p *tokenParams) populate(a *logical.Auth) {
	a.Policies = append([]string(nil), p.TokenPolicies...)
	a.TTL, a.MaxTTL, a.Period = p.TokenTTL, p.TokenMaxTTL, p.TokenPeriod
	a.NumUses = p.TokenNumUses
	a.BoundCIDRs = append([]string(nil), p.TokenBoundCIDRs...)
	a.NoDefaultPolicy = p.TokenNoDefaultPolicy
	a.Renewable = true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
