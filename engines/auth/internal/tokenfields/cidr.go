package tokenfields

import (
	"net/netip"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// ParseCIDRs validates a list of CIDR blocks or bare addresses (a bare
// address is a single-host block, as in Vault) and returns it trimmed,
// without empty entries. A bad entry is a *logical.InvalidRequestError
// naming field.
func ParseCIDRs(field string, in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if _, err := logical.ParsePrefix(s); err != nil {
			return nil, logical.InvalidRequest(field, "invalid CIDR block %q", truncate(s))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// PrefixForm returns cidrs (valid, as ParseCIDRs returns them) spelled as
// masked CIDR blocks: a bare address becomes its single-host block
// ("10.0.0.1" -> "10.0.0.1/32"), host bits are cleared ("10.1.2.3/8" ->
// "10.0.0.0/8"). Entries that do not parse are dropped.
func PrefixForm(cidrs []string) []string {
	if cidrs == nil {
		return nil
	}
	out := make([]string, 0, len(cidrs))
	for _, c := range cidrs {
		if p, err := logical.ParsePrefix(c); err == nil {
			out = append(out, p.String())
		}
	}
	return out
}

// Subset reports whether every block of inner lies inside some block of
// outer. An empty outer contains everything.
func Subset(outer, inner []string) bool {
	if len(outer) == 0 {
		return true
	}
	var outs []netip.Prefix
	for _, c := range outer {
		if p, err := logical.ParsePrefix(c); err == nil {
			outs = append(outs, p)
		}
	}
	for _, c := range inner {
		in, err := logical.ParsePrefix(c)
		if err != nil || !containedIn(in, outs) {
			return false
		}
	}
	return true
}

func containedIn(in netip.Prefix, outs []netip.Prefix) bool {
	for _, o := range outs {
		if o.Addr().Is4() == in.Addr().Is4() && o.Bits() <= in.Bits() && o.Contains(in.Addr()) {
			return true
		}
	}
	return false
}

// truncate bounds how much of a bad input an error message repeats.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}
