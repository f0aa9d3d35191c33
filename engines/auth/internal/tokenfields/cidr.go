package tokenfields

import (
	"net"
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
		if _, err := parsePrefix(s); err != nil {
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
		if p, err := parsePrefix(c); err == nil {
			out = append(out, p.String())
		}
	}
	return out
}

// AddrAllowed reports whether the client address remoteAddr (an IP, or
// host:port) lies in one of cidrs. An empty list allows every address; a
// missing or unparsable address is allowed by none. Entries that do not
// parse never match.
func AddrAllowed(remoteAddr string, cidrs []string) bool {
	if len(cidrs) == 0 {
		return true
	}
	addr, ok := parseAddr(remoteAddr)
	if !ok {
		return false
	}
	for _, c := range cidrs {
		if p, err := parsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// Subset reports whether every block of inner lies inside some block of
// outer. An empty outer contains everything.
func Subset(outer, inner []string) bool {
	if len(outer) == 0 {
		return true
	}
	var outs []netip.Prefix
	for _, c := range outer {
		if p, err := parsePrefix(c); err == nil {
			outs = append(outs, p)
		}
	}
	for _, c := range inner {
		in, err := parsePrefix(c)
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

// parsePrefix parses a CIDR block or a bare address, masked.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return unmapPrefix(p).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// parseAddr parses an IP or host:port client address.
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// truncate bounds how much of a bad input an error message repeats.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}
