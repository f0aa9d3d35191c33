package keypair

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// tokenFields are Vault's tokenutil fields a key carries (token_type and
// token_explicit_max_ttl are not offered: core mints one kind of token
// and logical.Auth has no explicit max TTL).
func tokenFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"token_policies":          {Type: framework.TypeStringSlice, Description: "Policies of tokens issued by a login."},
		"token_ttl":               {Type: framework.TypeDuration, Description: "Initial TTL of issued tokens (0: the mount default)."},
		"token_max_ttl":           {Type: framework.TypeDuration, Description: "Maximum TTL of issued tokens (0: the mount default)."},
		"token_period":            {Type: framework.TypeDuration, Description: "Makes issued tokens periodic with this period."},
		"token_num_uses":          {Type: framework.TypeInt, Description: "Uses of an issued token (0: unlimited)."},
		"token_bound_cidrs":       {Type: framework.TypeStringSlice, Description: "CIDRs (or IPs) logins and issued tokens are restricted to."},
		"token_no_default_policy": {Type: framework.TypeBool, Description: "Leave the default policy off issued tokens."},
	}
}

// tokenParams is what a key's logins ask core for.
type tokenParams struct {
	Policies        []string      `json:"token_policies,omitempty"`
	TTL             time.Duration `json:"token_ttl,omitempty"`
	MaxTTL          time.Duration `json:"token_max_ttl,omitempty"`
	Period          time.Duration `json:"token_period,omitempty"`
	NumUses         int           `json:"token_num_uses,omitempty"`
	BoundCIDRs      []string      `json:"token_bound_cidrs,omitempty"`
	NoDefaultPolicy bool          `json:"token_no_default_policy,omitempty"`
}

// tokenInput is the decoded form of tokenFields; nil means "not sent".
type tokenInput struct {
	Policies        *[]string      `json:"token_policies"`
	TTL             *time.Duration `json:"token_ttl"`
	MaxTTL          *time.Duration `json:"token_max_ttl"`
	Period          *time.Duration `json:"token_period"`
	NumUses         *int           `json:"token_num_uses"`
	BoundCIDRs      *[]string      `json:"token_bound_cidrs"`
	NoDefaultPolicy *bool          `json:"token_no_default_policy"`
}

// apply sets the fields in carries on p and validates the result.
func (in *tokenInput) apply(p *tokenParams) error {
	var err error
	if in.Policies != nil {
		if p.Policies, err = normalizePolicies(*in.Policies); err != nil {
			return err
		}
	}
	if in.BoundCIDRs != nil {
		if p.BoundCIDRs, err = normalizeCIDRs(*in.BoundCIDRs); err != nil {
			return err
		}
	}
	setIf(&p.TTL, in.TTL)
	setIf(&p.MaxTTL, in.MaxTTL)
	setIf(&p.Period, in.Period)
	setIf(&p.NumUses, in.NumUses)
	setIf(&p.NoDefaultPolicy, in.NoDefaultPolicy)
	return p.validate()
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (p *tokenParams) validate() error {
	for name, d := range map[string]time.Duration{"token_ttl": p.TTL, "token_max_ttl": p.MaxTTL, "token_period": p.Period} {
		if d < 0 {
			return logical.InvalidRequest(name, "must not be negative")
		}
	}
	if p.MaxTTL > 0 && p.TTL > p.MaxTTL {
		return logical.InvalidRequest("token_ttl", "must not exceed token_max_ttl")
	}
	if p.NumUses < 0 {
		return logical.InvalidRequest("token_num_uses", "must not be negative")
	}
	return nil
}

// normalizePolicies trims, lower-cases, de-duplicates and sorts policy
// names (Vault's policyutil.SanitizePolicies); "root" is refused, since
// no auth method may issue root tokens.
func normalizePolicies(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if p == "root" {
			return nil, logical.InvalidRequest("token_policies", "an auth method cannot issue root tokens")
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeCIDRs parses each entry as a CIDR or a bare IP and returns
// their canonical text.
func normalizeCIDRs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if pfx, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pfx.String())
			continue
		}
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return nil, logical.InvalidRequest("token_bound_cidrs", "%q is neither a CIDR nor an IP address", truncate(s, 64))
		}
		out = append(out, addr.String())
	}
	return out, nil
}

// allows reports whether remoteAddr is inside the bound CIDRs (always,
// when there are none). A missing or unparsable address is outside.
func (p *tokenParams) allows(remoteAddr string) bool {
	if len(p.BoundCIDRs) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(remoteAddr)
	if err != nil {
		ap, perr := netip.ParseAddrPort(remoteAddr)
		if perr != nil {
			return false
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap()
	for _, s := range p.BoundCIDRs {
		if pfx, err := netip.ParsePrefix(s); err == nil && pfx.Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

// responseData renders p as Vault's tokenutil does (durations in whole
// seconds, lists never null).
func (p *tokenParams) responseData(out map[string]any) {
	out["token_policies"] = nonNil(p.Policies)
	out["token_ttl"] = int64(p.TTL / time.Second)
	out["token_max_ttl"] = int64(p.MaxTTL / time.Second)
	out["token_period"] = int64(p.Period / time.Second)
	out["token_num_uses"] = p.NumUses
	out["token_bound_cidrs"] = nonNil(p.BoundCIDRs)
	out["token_no_default_policy"] = p.NoDefaultPolicy
}

// fillAuth copies p into a login's Auth.
func (p *tokenParams) fillAuth(a *logical.Auth) {
	a.Policies = slices.Clone(nonNil(p.Policies))
	a.TTL, a.MaxTTL, a.Period = p.TTL, p.MaxTTL, p.Period
	a.NumUses = p.NumUses
	a.BoundCIDRs = slices.Clone(p.BoundCIDRs)
	a.NoDefaultPolicy = p.NoDefaultPolicy
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
