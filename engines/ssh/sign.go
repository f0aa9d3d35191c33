package ssh

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// signInput is the part of a sign/ or issue/ request that describes the
// certificate; nil means "not sent".
type signInput struct {
	ValidPrincipals []string          `json:"valid_principals"`
	CertType        string            `json:"cert_type"`
	TTL             *time.Duration    `json:"ttl"`
	KeyID           string            `json:"key_id"`
	CriticalOptions map[string]string `json:"critical_options"`
	Extensions      map[string]string `json:"extensions"`
}

// certPlan is a certificate checked against its role, waiting for the
// key it certifies.
type certPlan struct {
	roleName   string
	role       *role
	certType   uint32
	principals []string
	ttl        time.Duration
	critical   map[string]string
	extensions map[string]string
	keyID      string // requested; "" means the role's key_id_format
}

// plan checks a request against the role: every rule that does not
// depend on the key. Errors are 400s naming the field.
func (b *Backend) plan(roleName string, r *role, in *signInput) (*certPlan, error) {
	p := &certPlan{roleName: roleName, role: r}
	var err error
	if p.certType, err = certType(in.CertType, r); err != nil {
		return nil, err
	}
	if p.principals, err = principals(in.ValidPrincipals, r, p.certType); err != nil {
		return nil, err
	}
	if p.ttl, err = b.certTTL(in.TTL, r); err != nil {
		return nil, err
	}
	if p.critical, err = criticalOptions(in.CriticalOptions, r); err != nil {
		return nil, err
	}
	if p.extensions, err = extensions(in.Extensions, r); err != nil {
		return nil, err
	}
	if in.KeyID != "" && !r.AllowUserKeyIDs {
		return nil, logical.InvalidRequest("key_id", "setting key_id is not allowed by role")
	}
	p.keyID = in.KeyID
	return p, nil
}

func certType(s string, r *role) (uint32, error) {
	switch s {
	case "", "user":
		if !r.AllowUserCertificates {
			return 0, logical.InvalidRequest("cert_type", "cert_type 'user' is not allowed by role")
		}
		return ssh.UserCert, nil
	case "host":
		if !r.AllowHostCertificates {
			return 0, logical.InvalidRequest("cert_type", "cert_type 'host' is not allowed by role")
		}
		return ssh.HostCert, nil
	}
	return 0, logical.InvalidRequest("cert_type", "cert_type must be either 'user' or 'host'")
}

// splitList parses a comma-separated list: trimmed, no empty items, no
// duplicates, in order.
func splitList(s ...string) []string {
	var out []string
	for _, part := range s {
		for _, item := range strings.Split(part, ",") {
			if item = strings.TrimSpace(item); item != "" && !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return out
}

// principals are the certificate's principals: the requested ones, else
// (for a user certificate) the role's default_user, each allowed by the
// role. An empty list is always refused: sshd reads it as "anyone".
func principals(requested []string, r *role, ct uint32) ([]string, error) {
	want := splitList(requested...)
	allowed := r.AllowedUsers
	if ct == ssh.HostCert {
		allowed = r.AllowedDomains
	} else if len(want) == 0 {
		want = splitList(r.DefaultUser)
	}
	if len(want) == 0 {
		hint := "set valid_principals or default_user"
		if ct == ssh.HostCert {
			hint = "set valid_principals"
		}
		return nil, logical.InvalidRequest("valid_principals", "refusing to issue unsafe, globally-valid certificate with no principals specified; %s", hint)
	}
	if strings.TrimSpace(allowed) == "*" {
		return want, nil
	}
	list := splitList(allowed)
	if len(list) == 0 {
		return nil, logical.InvalidRequest("valid_principals", "role is not configured to allow any principals")
	}
	for _, p := range want {
		ok := slices.Contains(list, p)
		if ct == ssh.HostCert {
			ok = hostAllowed(list, p, r)
		}
		if !ok {
			return nil, logical.InvalidRequest("valid_principals", "%s is not a valid value for valid_principals", p)
		}
	}
	return want, nil
}

// hostAllowed reports whether a host principal is an allowed domain
// (allow_bare_domains) or a subdomain of one (allow_subdomains).
func hostAllowed(domains []string, host string, r *role) bool {
	for _, d := range domains {
		if (r.AllowBareDomains && host == d) || (r.AllowSubdomains && strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

// certTTL is the certificate lifetime: the requested ttl, else the
// role's, else the mount's default; a requested one beyond the maximum
// (the role's max_ttl bounded by the mount's maximum) is a 400, a
// default one is cut to it.
func (b *Backend) certTTL(requested *time.Duration, r *role) (time.Duration, error) {
	def, max := b.mountTTLs()
	if r.MaxTTL > 0 && r.MaxTTL < max {
		max = r.MaxTTL
	}
	if requested != nil && *requested < 0 {
		return 0, logical.InvalidRequest("ttl", "must not be negative")
	}
	if requested != nil && *requested > 0 {
		if *requested > max {
			return 0, logical.InvalidRequest("ttl", "ttl is larger than maximum allowed %d", int64(max/time.Second))
		}
		return *requested, nil
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = def
	}
	return min(ttl, max), nil
}

func criticalOptions(requested map[string]string, r *role) (map[string]string, error) {
	if len(requested) == 0 {
		return maps.Clone(r.DefaultCriticalOptions), nil
	}
	if strings.TrimSpace(r.AllowedCriticalOptions) != "" {
		if bad := notAllowed(requested, splitList(r.AllowedCriticalOptions)); len(bad) > 0 {
			return nil, logical.InvalidRequest("critical_options", "critical options not on allowed list: %v", bad)
		}
	}
	return requested, nil
}

func extensions(requested map[string]string, r *role) (map[string]string, error) {
	if len(requested) == 0 {
		return maps.Clone(r.DefaultExtensions), nil
	}
	if strings.TrimSpace(r.AllowedExtensions) == "*" {
		return requested, nil
	}
	if bad := notAllowed(requested, splitList(r.AllowedExtensions)); len(bad) > 0 {
		return nil, logical.InvalidRequest("extensions", "extensions %v are not on allowed list", bad)
	}
	return requested, nil
}

// notAllowed lists, sorted, the keys of m that allowed does not hold.
func notAllowed(m map[string]string, allowed []string) []string {
	var bad []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	return bad
}

// checkKeyAllowed applies allowed_user_key_lengths to a key of family
// and size bits; no rule allows any key. typeField and bitsField are the
// fields errors name.
func checkKeyAllowed(allowed map[string][]int, family string, bits int, typeField, bitsField string) error {
	if len(allowed) == 0 {
		return nil
	}
	var names []string // entries whose sizes must match bits
	var anySize []string
	switch family {
	case familyRSA:
		names = []string{"rsa", ssh.KeyAlgoRSA}
	case familyECDSA:
		names = []string{"ecdsa", "ec"}
		if named := map[int]string{256: ssh.KeyAlgoECDSA256, 384: ssh.KeyAlgoECDSA384, 521: ssh.KeyAlgoECDSA521}[bits]; named != "" {
			anySize = []string{named}
		}
	case familyEd25519:
		anySize = []string{"ed25519", ssh.KeyAlgoED25519}
	}
	present := false
	for _, n := range anySize {
		if _, ok := allowed[n]; ok {
			return nil
		}
	}
	for _, n := range names {
		sizes, ok := allowed[n]
		present = present || ok
		if slices.Contains(sizes, bits) {
			return nil
		}
	}
	if !present {
		return logical.InvalidRequest(typeField, "key of type %s is not allowed", family)
	}
	return logical.InvalidRequest(bitsField, "key is of an invalid size: %d", bits)
}

// keyID is the certificate's key id: the requested one, else the role's
// key_id_format ("vault-{{public_key_hash}}" by default; requests carry
// no token display name, so {{token_display_name}} is empty).
func (p *certPlan) keyIDFor(pub ssh.PublicKey) string {
	if p.keyID != "" {
		return p.keyID
	}
	format := p.role.KeyIDFormat
	if format == "" {
		format = "vault-{{public_key_hash}}"
	}
	sum := sha256.Sum256(pub.Marshal())
	return strings.NewReplacer(
		"{{token_display_name}}", "",
		"{{role_name}}", p.roleName,
		"{{public_key_hash}}", hex.EncodeToString(sum[:]),
	).Replace(format)
}

// signedCert is a signed certificate as sign/ and issue/ answer it.
type signedCert struct {
	signedKey string
	serial    string
}

// sign certifies pub as planned with the mount's CA key.
func (b *Backend) sign(ctx context.Context, s logical.Storage, p *certPlan, pub ssh.PublicKey) (*signedCert, error) {
	signer, err := b.caSigner(ctx, s, p.role.AlgorithmSigner)
	if err != nil {
		return nil, err
	}
	var serialBytes [8]byte
	if _, err := rand.Read(serialBytes[:]); err != nil {
		return nil, fmt.Errorf("ssh: serial number: %w", err)
	}
	now := b.now()
	cert := &ssh.Certificate{
		Key:             pub,
		Serial:          binary.BigEndian.Uint64(serialBytes[:]),
		CertType:        p.certType,
		KeyId:           p.keyIDFor(pub),
		ValidPrincipals: p.principals,
		ValidAfter:      unixSeconds(now.Add(-p.role.NotBeforeDuration)),
		ValidBefore:     unixSeconds(now.Add(p.ttl)),
		Permissions:     ssh.Permissions{CriticalOptions: p.critical, Extensions: p.extensions},
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		return nil, fmt.Errorf("ssh: sign certificate: %w", err)
	}
	return &signedCert{
		signedKey: string(ssh.MarshalAuthorizedKey(cert)),
		serial:    strconv.FormatUint(cert.Serial, 16),
	}, nil
}

func unixSeconds(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}
