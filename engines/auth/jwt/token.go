package jwt

import (
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// tokenParams are Vault's token_* role fields (sdk/helper/tokenutil):
// what the token core mints for a login of the role looks like.
type tokenParams struct {
	TokenPolicies        []string      `json:"token_policies"`
	TokenTTL             time.Duration `json:"token_ttl"`
	TokenMaxTTL          time.Duration `json:"token_max_ttl"`
	TokenPeriod          time.Duration `json:"token_period"`
	TokenNumUses         int           `json:"token_num_uses"`
	TokenBoundCIDRs      []string      `json:"token_bound_cidrs"`
	TokenNoDefaultPolicy bool          `json:"token_no_default_policy"`
}

// tokenInput is the decoded form of tokenFields; nil means "not sent".
// The legacy names (policies, ttl, ...) are read when the token_* name
// is absent, as Vault's tokenutil.UpgradeValue does.
type tokenInput struct {
	Policies        *[]string      `json:"token_policies"`
	TTL             *time.Duration `json:"token_ttl"`
	MaxTTL          *time.Duration `json:"token_max_ttl"`
	Period          *time.Duration `json:"token_period"`
	NumUses         *int           `json:"token_num_uses"`
	BoundCIDRs      *[]string      `json:"token_bound_cidrs"`
	NoDefaultPolicy *bool          `json:"token_no_default_policy"`
	TokenType       *string        `json:"token_type"`

	LegacyPolicies   *[]string      `json:"policies"`
	LegacyTTL        *time.Duration `json:"ttl"`
	LegacyMaxTTL     *time.Duration `json:"max_ttl"`
	LegacyPeriod     *time.Duration `json:"period"`
	LegacyNumUses    *int           `json:"num_uses"`
	LegacyBoundCIDRs *[]string      `json:"bound_cidrs"`
}

// tokenFields adds the token_* fields (and their deprecated names) to m.
func tokenFields(m map[string]*framework.FieldSchema) {
	add := func(t framework.FieldType, desc string, names ...string) {
		for _, n := range names {
			m[n] = &framework.FieldSchema{Type: t, Description: desc}
		}
	}
	add(framework.TypeStringSlice, "Policies of the generated token.", "token_policies", "policies")
	add(framework.TypeDuration, "Initial TTL of the generated token.", "token_ttl", "ttl")
	add(framework.TypeDuration, "Maximum lifetime of the generated token.", "token_max_ttl", "max_ttl")
	add(framework.TypeDuration, "Period of a periodic generated token.", "token_period", "period")
	add(framework.TypeInt, "Uses of the generated token; 0 is unlimited.", "token_num_uses", "num_uses")
	add(framework.TypeStringSlice, "CIDR blocks the token may be used from (and the login made from).", "token_bound_cidrs", "bound_cidrs")
	add(framework.TypeBool, "Leave the default policy off generated tokens.", "token_no_default_policy")
	add(framework.TypeString, "Token type: only \"default\" or \"service\" tokens are issued.", "token_type")
}

func pick[T any](current, legacy *T) *T {
	if current != nil {
		return current
	}
	return legacy
}

// apply merges the fields the request carried into t and validates the
// result with tokenutil's messages.
func (in *tokenInput) apply(t *tokenParams) error {
	if p := pick(in.Policies, in.LegacyPolicies); p != nil {
		t.TokenPolicies = *p
	}
	for _, f := range []struct {
		src  *time.Duration
		dst  *time.Duration
		name string
	}{
		{pick(in.TTL, in.LegacyTTL), &t.TokenTTL, "token_ttl"},
		{pick(in.MaxTTL, in.LegacyMaxTTL), &t.TokenMaxTTL, "token_max_ttl"},
		{pick(in.Period, in.LegacyPeriod), &t.TokenPeriod, "token_period"},
	} {
		if f.src == nil {
			continue
		}
		if *f.src < 0 {
			return logical.InvalidRequest(f.name, "'%s' cannot be negative", f.name)
		}
		*f.dst = *f.src
	}
	if n := pick(in.NumUses, in.LegacyNumUses); n != nil {
		if *n < 0 {
			return logical.InvalidRequest("token_num_uses", "'token_num_uses' cannot be negative")
		}
		t.TokenNumUses = *n
	}
	if c := pick(in.BoundCIDRs, in.LegacyBoundCIDRs); c != nil {
		cidrs, err := parseCIDRs(*c)
		if err != nil {
			return err
		}
		t.TokenBoundCIDRs = cidrs
	}
	if in.NoDefaultPolicy != nil {
		t.TokenNoDefaultPolicy = *in.NoDefaultPolicy
	}
	if in.TokenType != nil {
		switch *in.TokenType {
		case "", "default", "service", "default-service":
		default:
			return logical.InvalidRequest("token_type", "only service tokens are supported")
		}
	}
	if t.TokenMaxTTL > 0 && t.TokenTTL > t.TokenMaxTTL {
		return logical.InvalidRequest("token_ttl", "'token_ttl' cannot be greater than 'token_max_ttl'")
	}
	return nil
}

// parseCIDRs accepts CIDR blocks and bare addresses (one-address
// blocks), as Vault's parseutil.ParseAddrs does.
func parseCIDRs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.String())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, logical.InvalidRequest("token_bound_cidrs", "invalid CIDR block or address %q", truncate(s, 64))
		}
		out = append(out, a.Unmap().String())
	}
	return out, nil
}

// addrAllowed reports whether remote (an IP address, optionally with a
// port) lies in one of cidrs; an empty list allows any address.
func addrAllowed(remote string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(remote)
	if err != nil {
		ap, perr := netip.ParseAddrPort(remote)
		if perr != nil {
			return false
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap()
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Masked().Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(c); err == nil && a == addr {
			return true
		}
	}
	return false
}

// data renders the token fields as Vault's role read does.
func (t *tokenParams) data(m map[string]any) {
	policies := t.TokenPolicies
	if policies == nil {
		policies = []string{}
	}
	cidrs := t.TokenBoundCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	maps.Copy(m, map[string]any{
		"token_policies":          policies,
		"token_ttl":               int64(t.TokenTTL / time.Second),
		"token_max_ttl":           int64(t.TokenMaxTTL / time.Second),
		"token_period":            int64(t.TokenPeriod / time.Second),
		"token_explicit_max_ttl":  int64(0),
		"token_num_uses":          t.TokenNumUses,
		"token_bound_cidrs":       cidrs,
		"token_no_default_policy": t.TokenNoDefaultPolicy,
		"token_type":              "default",
	})
}

// populate fills the token request of a login.
func (t *tokenParams) populate(a *logical.Auth) {
	a.Policies = append([]string(nil), t.TokenPolicies...)
	a.TTL = t.TokenTTL
	a.MaxTTL = t.TokenMaxTTL
	a.Period = t.TokenPeriod
	a.NumUses = t.TokenNumUses
	a.BoundCIDRs = append([]string(nil), t.TokenBoundCIDRs...)
	a.NoDefaultPolicy = t.TokenNoDefaultPolicy
}

// truncate bounds user input quoted in a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
