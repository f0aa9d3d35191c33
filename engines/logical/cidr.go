package logical

import (
	"net"
	"net/netip"
	"strings"
)

// Client-address checks shared by the token store (token_bound_cidrs on
// every use) and the auth methods (bound CIDRs at login).

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
		if p, err := ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// ParsePrefix parses a CIDR block or a bare address (a single-host
// block), masked, IPv4-mapped addresses unmapped.
func ParsePrefix(s string) (netip.Prefix, error) {
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
