package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// notBeforeSkew is Vault's default not_before_duration: certificates
// are valid from 30 seconds before issue, for clocks that lag.
const notBeforeSkew = 30 * time.Second

// subjectInput are the subject fields a CA generation or a signing
// request may carry (Vault's names).
type subjectInput struct {
	CommonName        string   `json:"common_name"`
	AltNames          []string `json:"alt_names"`
	IPSANs            []string `json:"ip_sans"`
	Organization      []string `json:"organization"`
	OU                []string `json:"ou"`
	Country           []string `json:"country"`
	Locality          []string `json:"locality"`
	Province          []string `json:"province"`
	ExcludeCNFromSANs bool     `json:"exclude_cn_from_sans"`
}

// certParams is everything a certificate is built from.
type certParams struct {
	Subject     pkix.Name
	DNSNames    []string
	Emails      []string
	IPs         []net.IP
	NotBefore   time.Time
	NotAfter    time.Time
	IsCA        bool
	MaxPathLen  int
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	URLs        *urlsConfig
}

// subjectName builds the subject of in.
func (in *subjectInput) subjectName() pkix.Name {
	return pkix.Name{
		CommonName: in.CommonName, Organization: in.Organization, OrganizationalUnit: in.OU,
		Country: in.Country, Locality: in.Locality, Province: in.Province,
	}
}

// splitSANs sorts alt names into DNS names and email addresses, adding
// the common name unless excluded (Vault puts a CN that is a hostname
// or an email address in the SANs).
func splitSANs(cn string, alt []string, excludeCN bool) (dns, emails []string) {
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			return
		}
		seen[n] = true
		if strings.Contains(n, "@") {
			emails = append(emails, n)
		} else {
			dns = append(dns, n)
		}
	}
	if !excludeCN && (strings.Contains(cn, "@") || isHostname(cn)) {
		add(cn)
	}
	for _, n := range alt {
		add(n)
	}
	return dns, emails
}

// parseIPs parses ip_sans; errors name field.
func parseIPs(field string, in []string) ([]net.IP, error) {
	out := make([]net.IP, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, logical.InvalidRequest(field, "the value %q is not a valid IP address", s)
		}
		out = append(out, ip)
	}
	return out, nil
}

// newSerial is a random positive 159-bit serial (RFC 5280 allows 20 octets).
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// formatSerial is Vault's serial form: lowercase hex bytes joined by ":".
func formatSerial(n *big.Int) string {
	b := n.Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = hex.EncodeToString([]byte{c})
	}
	return strings.Join(parts, ":")
}

// createCert builds and signs a certificate for pub; parent nil means
// self-signed with key (pub must be key's).
func createCert(p *certParams, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: p.Subject,
		DNSNames: p.DNSNames, EmailAddresses: p.Emails, IPAddresses: p.IPs,
		NotBefore: p.NotBefore, NotAfter: p.NotAfter,
		KeyUsage: p.KeyUsage, ExtKeyUsage: p.ExtKeyUsage,
		BasicConstraintsValid: true, IsCA: p.IsCA,
	}
	if p.IsCA {
		tmpl.MaxPathLen = p.MaxPathLen
		tmpl.MaxPathLenZero = p.MaxPathLen == 0
		if p.MaxPathLen < 0 {
			tmpl.MaxPathLen, tmpl.MaxPathLenZero = -1, false
		}
	}
	if p.URLs != nil {
		tmpl.IssuingCertificateURL = p.URLs.IssuingCertificates
		tmpl.CRLDistributionPoints = p.URLs.CRLDistributionPoints
		tmpl.OCSPServer = p.URLs.OCSPServers
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse signed certificate: %w", err)
	}
	return cert, nil
}

// ttlBounds is the TTL computation of a request.
type ttlBounds struct {
	// Requested is the request's ttl (0: none).
	Requested time.Duration
	// Default and Max are the role's (0: the mount's).
	Default, Max time.Duration
	// Refuse makes a requested TTL above Max an error instead of a cap.
	Refuse bool
}

// notAfter computes a certificate's expiry from now, bounded by its
// issuer sg per the issuer's leaf_not_after_behavior (sg nil: a
// self-signed root). Warnings are Vault's.
func (b *Backend) notAfter(now time.Time, t ttlBounds, sg *signer) (time.Time, []string, error) {
	def, maxTTL := b.mountTTLs()
	if t.Default > 0 {
		def = t.Default
	}
	if t.Max > 0 {
		maxTTL = t.Max
	}
	ttl := t.Requested
	if ttl < 0 {
		return time.Time{}, nil, logical.InvalidRequest("ttl", "must not be negative")
	}
	if ttl == 0 {
		ttl = def
	}
	var warnings []string
	if ttl > maxTTL {
		if t.Refuse && t.Requested > 0 {
			return time.Time{}, nil, logical.InvalidRequest("ttl", "TTL %q is longer than the role's max_ttl %q", ttl, maxTTL)
		}
		warnings = append(warnings, fmt.Sprintf("TTL %q is longer than permitted maxTTL %q, so maxTTL is being used", ttl, maxTTL))
		ttl = maxTTL
	}
	na := now.Add(ttl)
	if sg == nil || !na.After(sg.cert.NotAfter) {
		return na, warnings, nil
	}
	switch sg.entry.LeafNotAfterBehavior {
	case "permit":
	case "truncate":
		if sg.cert.NotAfter.Before(now) {
			return time.Time{}, nil, logical.InvalidRequest("ttl", "cannot satisfy request, as NotAfter date %s is in the past", sg.cert.NotAfter.UTC().Format(time.RFC3339Nano))
		}
		na = sg.cert.NotAfter
	default:
		return time.Time{}, nil, logical.InvalidRequest("ttl",
			"cannot satisfy request, as TTL would result in notAfter of %s that is beyond the expiration of the CA certificate at %s",
			na.UTC().Format(time.RFC3339Nano), sg.cert.NotAfter.UTC().Format(time.RFC3339Nano))
	}
	return na, warnings, nil
}

// keyUsages parses Vault's key_usage names ("DigitalSignature", with or
// without the "KeyUsage" prefix, any case).
func keyUsages(names []string) (x509.KeyUsage, error) {
	var ku x509.KeyUsage
	for _, n := range names {
		n = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(n)), "keyusage")
		switch n {
		case "":
		case "digitalsignature":
			ku |= x509.KeyUsageDigitalSignature
		case "contentcommitment":
			ku |= x509.KeyUsageContentCommitment
		case "keyencipherment":
			ku |= x509.KeyUsageKeyEncipherment
		case "dataencipherment":
			ku |= x509.KeyUsageDataEncipherment
		case "keyagreement":
			ku |= x509.KeyUsageKeyAgreement
		case "certsign":
			ku |= x509.KeyUsageCertSign
		case "crlsign":
			ku |= x509.KeyUsageCRLSign
		case "encipheronly":
			ku |= x509.KeyUsageEncipherOnly
		case "decipheronly":
			ku |= x509.KeyUsageDecipherOnly
		default:
			return 0, logical.InvalidRequest("key_usage", "unknown key usage %q", n)
		}
	}
	return ku, nil
}

var extKeyUsageNames = map[string]x509.ExtKeyUsage{
	"any": x509.ExtKeyUsageAny, "serverauth": x509.ExtKeyUsageServerAuth,
	"clientauth": x509.ExtKeyUsageClientAuth, "codesigning": x509.ExtKeyUsageCodeSigning,
	"emailprotection": x509.ExtKeyUsageEmailProtection, "ipsecendsystem": x509.ExtKeyUsageIPSECEndSystem,
	"ipsectunnel": x509.ExtKeyUsageIPSECTunnel, "ipsecuser": x509.ExtKeyUsageIPSECUser,
	"timestamping": x509.ExtKeyUsageTimeStamping, "ocspsigning": x509.ExtKeyUsageOCSPSigning,
	"microsoftservergatedcrypto":     x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscapeservergatedcrypto":      x509.ExtKeyUsageNetscapeServerGatedCrypto,
	"microsoftcommercialcodesigning": x509.ExtKeyUsageMicrosoftCommercialCodeSigning,
	"microsoftkernelcodesigning":     x509.ExtKeyUsageMicrosoftKernelCodeSigning,
}

// extKeyUsages parses Vault's ext_key_usage names ("ServerAuth", with or
// without the "ExtKeyUsage" prefix, any case), adding server and client
// auth for the flags.
func extKeyUsages(names []string, server, client bool) ([]x509.ExtKeyUsage, error) {
	var out []x509.ExtKeyUsage
	add := func(u x509.ExtKeyUsage) {
		for _, have := range out {
			if have == u {
				return
			}
		}
		out = append(out, u)
	}
	if server {
		add(x509.ExtKeyUsageServerAuth)
	}
	if client {
		add(x509.ExtKeyUsageClientAuth)
	}
	for _, n := range names {
		key := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(n)), "extkeyusage")
		if key == "" {
			continue
		}
		u, ok := extKeyUsageNames[key]
		if !ok {
			return nil, logical.InvalidRequest("ext_key_usage", "unknown extended key usage %q", n)
		}
		add(u)
	}
	return out, nil
}
