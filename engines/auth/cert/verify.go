package cert

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// trust is a role's parsed certificate PEM.
type trust struct {
	// cas verify chains: the role's CA certificates.
	cas *x509.CertPool
	// subjects are the CAs' raw subjects: a chain none of whose
	// certificates was issued by one of them cannot verify, and is
	// refused without checking a signature.
	subjects map[string]bool
	// pinned are the role's non-CA certificates: a client presenting one
	// of them exactly (and valid now, for client auth) matches.
	pinned []*x509.Certificate
}

// parseTrust parses a role's PEM. It refuses PEM without a certificate
// and pinned leaves that may not authenticate TLS clients (Vault's
// checks), with a logical.InvalidRequestError.
func parseTrust(pemText string) (*trust, error) {
	t := &trust{cas: x509.NewCertPool(), subjects: map[string]bool{}}
	rest := []byte(pemText)
	n := 0
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if (block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE") || len(block.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, logical.InvalidRequest("certificate", "failed to parse certificate %d: %v", n, err)
		}
		n++
		if c.IsCA {
			t.cas.AddCert(c)
			t.subjects[string(c.RawSubject)] = true
			continue
		}
		if !hasClientAuth(c) {
			return nil, logical.InvalidRequest("certificate", "nonCA certificates should have TLS client authentication set as an extended key usage")
		}
		t.pinned = append(t.pinned, c)
	}
	if n == 0 {
		return nil, logical.InvalidRequest("certificate", "failed to parse certificate")
	}
	return t, nil
}

// maxCachedTrusts bounds the parse cache; beyond it the cache starts over.
const maxCachedTrusts = 1024

// trustCache remembers parsed role PEMs by content, so a login does not
// parse every role's certificates again. Keyed by the PEM's hash, it can
// never serve a role's old certificates after the role changed (on this
// node or on another active node). Safe for concurrent use.
type trustCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*trust
}

func newTrustCache() *trustCache {
	return &trustCache{m: map[[sha256.Size]byte]*trust{}}
}

// get returns the parsed form of pemText.
func (c *trustCache) get(pemText string) (*trust, error) {
	key := sha256.Sum256([]byte(pemText))
	c.mu.Lock()
	t, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := parseTrust(pemText)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedTrusts {
		c.m = map[[sha256.Size]byte]*trust{}
	}
	c.m[key] = t
	c.mu.Unlock()
	return t, nil
}

// verifyChain checks chain (leaf first, as presented) against t at now:
// the leaf must be one of t's pinned certificates exactly, or chain to
// one of t's CAs through the presented intermediates, for client auth.
// ok=false with a nil error means t does not know the chain's issuer;
// an error means it does but the chain is invalid (expired, wrong key
// usage, ...).
func (t *trust) verifyChain(chain []*x509.Certificate, now time.Time) (ok bool, err error) {
	leaf := chain[0]
	opts := x509.VerifyOptions{
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime:   now,
	}
	for _, p := range t.pinned {
		if subtle.ConstantTimeCompare(p.Raw, leaf.Raw) == 1 {
			// The pinned leaf alone is the trust anchor: Verify still
			// checks its validity period and key usage.
			opts.Roots = x509.NewCertPool()
			opts.Roots.AddCert(p)
			return verify(leaf, opts)
		}
	}
	if !t.mayIssue(chain) {
		return false, nil
	}
	opts.Roots = t.cas
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	return verify(leaf, opts)
}

// mayIssue reports whether one of t's CAs issued a certificate of chain
// (or is its leaf): the names x509 chain building looks parents up by.
func (t *trust) mayIssue(chain []*x509.Certificate) bool {
	if t.subjects[string(chain[0].RawSubject)] {
		return true
	}
	for _, c := range chain {
		if t.subjects[string(c.RawIssuer)] {
			return true
		}
	}
	return false
}

func verify(leaf *x509.Certificate, opts x509.VerifyOptions) (bool, error) {
	if _, err := leaf.Verify(opts); err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// matchesConstraints reports whether leaf meets every name constraint of
// r (an empty list allows anything), as Vault's matchesConstraints does.
func (r *roleEntry) matchesConstraints(leaf *x509.Certificate) bool {
	names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
	names = append(names, leaf.EmailAddresses...)
	uris := make([]string, len(leaf.URIs))
	for i, u := range leaf.URIs {
		uris[i] = u.String()
	}
	return anyMatch(r.AllowedNames, names) &&
		anyMatch(r.AllowedCommonNames, []string{leaf.Subject.CommonName}) &&
		anyMatch(r.AllowedDNSSANs, leaf.DNSNames) &&
		anyMatch(r.AllowedEmailSANs, leaf.EmailAddresses) &&
		anyMatch(r.AllowedURISANs, uris) &&
		anyMatch(r.AllowedOrganizationalUnits, leaf.Subject.OrganizationalUnit) &&
		hasExtensions(r.RequiredExtensions, leaf)
}

// anyMatch is true when patterns is empty or one of them matches one of
// values.
func anyMatch(patterns, values []string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		for _, v := range values {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// hasExtensions reports whether leaf carries every "oid:value-glob" of
// required, each extension's value read as an ASN.1 string (Vault's
// matchesCertificateExtensions; a value that is not a string reads as
// "").
func hasExtensions(required []string, leaf *x509.Certificate) bool {
	if len(required) == 0 {
		return true
	}
	values := make(map[string]string, len(leaf.Extensions))
	for _, ext := range leaf.Extensions {
		var s string
		if _, err := asn1.Unmarshal(ext.Value, &s); err != nil {
			s = ""
		}
		values[ext.Id.String()] = s
	}
	for _, req := range required {
		oid, pattern, _ := strings.Cut(req, ":")
		v, ok := values[oid]
		if !ok || !glob(pattern, v) {
			return false
		}
	}
	return true
}

// glob matches s against pattern, where "*" stands for any run of
// characters and nothing else is special (ryanuber/go-glob, which Vault
// uses).
func glob(pattern, s string) bool {
	if pattern == "*" {
		return true
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
