package pki

import (
	"net"
	"regexp"
	"strings"

	"github.com/ryanuber/go-glob"
	"golang.org/x/net/idna"
)

// hostnameRe is Vault's hostname check (after IDNA conversion).
var hostnameRe = regexp.MustCompile(`^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])\.?$`)

// wildLabelRe is what the left label of a wildcard name may be.
var wildLabelRe = regexp.MustCompile(`^[a-zA-Z0-9-]*\*[a-zA-Z0-9-]*$`)

var idnaProfile = idna.New(idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// firstDisallowed returns the first name of names the role does not
// permit, or "" (Vault's validateNames: a name passes by
// allow_any_name, allow_localhost, or allowed_domains with
// allow_bare_domains, allow_subdomains or allow_glob_domains; with
// enforce_hostnames it must also be a valid hostname).
func (r *role) firstDisallowed(names []string) string {
	for _, name := range names {
		if !r.nameAllowed(name) {
			return name
		}
	}
	return ""
}

func (r *role) nameAllowed(name string) bool {
	reduced, emailDomain, isEmail := name, "", false
	if strings.Contains(name, "@") {
		parts := strings.Split(name, "@")
		if len(parts) != 2 {
			return false
		}
		reduced, emailDomain, isEmail = parts[1], parts[1], true
	}
	isWildcard, wildLabel := false, ""
	if strings.Contains(reduced, "*") {
		if !r.AllowWildcardCertificates || isEmail {
			return false
		}
		label, rest, ok := strings.Cut(reduced, ".")
		if !ok || strings.Contains(rest, "*") || rest == "" {
			return false
		}
		isWildcard, wildLabel, reduced = true, label, rest
	}
	if r.EnforceHostnames {
		if reduced != "" {
			ascii, err := idnaProfile.ToASCII(reduced)
			if err != nil || !hostnameRe.MatchString(ascii) {
				return false
			}
		}
		if isWildcard && !wildLabelRe.MatchString(wildLabel) {
			return false
		}
	}
	if r.AllowAnyName {
		return true
	}
	if r.localhostAllowed(reduced, emailDomain, isEmail, isWildcard) {
		return true
	}
	for _, dom := range r.AllowedDomains {
		if dom == "" {
			continue
		}
		switch {
		case r.AllowBareDomains && (strings.EqualFold(name, dom) || isEmail && strings.EqualFold(emailDomain, dom)):
			return true
		case r.AllowSubdomains && (strings.HasSuffix(reduced, "."+dom) || isWildcard && strings.EqualFold(reduced, dom)):
			return true
		case r.AllowGlobDomains && strings.Contains(dom, "*") && glob.Glob(dom, name):
			return true
		}
	}
	return false
}

func (r *role) localhostAllowed(reduced, emailDomain string, isEmail, isWildcard bool) bool {
	if !r.AllowLocalhost {
		return false
	}
	for _, local := range []string{"localhost", "localdomain"} {
		if reduced == local || isEmail && emailDomain == local {
			return true
		}
		if r.AllowSubdomains && (strings.HasSuffix(reduced, "."+local) || isWildcard && reduced == local) {
			return true
		}
	}
	return false
}

// isIPName reports whether a common name is an IP address (Vault moves
// such a CN to the IP SANs instead of the DNS names).
func isIPName(name string) bool { return net.ParseIP(name) != nil }

// isHostname reports whether a name is a valid hostname (wildcards
// included), as a common name must be to be copied into the DNS SANs.
func isHostname(name string) bool {
	name = strings.TrimPrefix(name, "*.")
	ascii, err := idnaProfile.ToASCII(name)
	return err == nil && hostnameRe.MatchString(ascii)
}
