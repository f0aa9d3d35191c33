package cert

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/auth/lockout"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Login failures, with Vault's messages (400, as Vault answers them).
var (
	errNoCertificate = logical.InvalidRequest("", "client certificate must be supplied")
	errUntrusted     = logical.InvalidRequest("", "invalid certificate or no client certificate supplied")
	errNoMatch       = logical.InvalidRequest("", "no chain matching all constraints could be found for this login certificate")
)

// entityType is the Cedar type of the entity of a first cert login.
const entityType = "Service"

func (b *Backend) pathLogin() *framework.Path {
	return &framework.Path{
		Pattern: "login",
		Fields: map[string]*framework.FieldSchema{
			"name": {Type: framework.TypeString, Description: "The trusted certificate (role) to authenticate against; all are tried when empty."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleLogin,
		},
		Unauthenticated: true,
		HelpSynopsis:    "Log in with the TLS client certificate of the connection.",
	}
}

// handleLogin verifies the connection's client certificate chain and
// answers the identity and token parameters of the matching role.
func (b *Backend) handleLogin(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var chain []*x509.Certificate
	var remote string
	if req.Connection != nil {
		chain, remote = req.Connection.PeerCertificates, req.Connection.RemoteAddr
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, errNoCertificate
	}
	name := strings.ToLower(strings.TrimSpace(d.String("name")))
	key := lockout.Key(lockoutName(name, chain[0]), remote)
	role, _, err := lockout.Attempt(b.lockout, key, isAuthFailure, func() (*roleEntry, error) {
		return b.authenticate(ctx, req.Storage, name, chain, remote)
	})
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Auth: loginAuth(role, chain[0], !cfg.DisableAliasMetadata)}, nil
}

// authenticate returns the role that admits chain from remote: it
// trusts the chain, its constraints admit the leaf, which names an
// identity, and remote is inside its token_bound_cidrs.
func (b *Backend) authenticate(ctx context.Context, s logical.Storage, name string, chain []*x509.Certificate, remote string) (*roleEntry, error) {
	role, err := b.matchRole(ctx, s, name, chain)
	switch {
	case err != nil:
		return nil, err
	case chain[0].Subject.CommonName == "":
		return nil, logical.InvalidRequest("", "the client certificate has no subject common name to name its identity")
	case !logical.AddrAllowed(remote, role.BoundCIDRs):
		return nil, fmt.Errorf("%w: login from outside the certificate's token_bound_cidrs", logical.ErrPermissionDenied)
	}
	return role, nil
}

// lockoutName is the name failures are counted under: the role asked
// for, else the presented (unverified) leaf's Common Name.
func lockoutName(role string, leaf *x509.Certificate) string {
	if role != "" {
		return "role:" + role
	}
	return "cn:" + leaf.Subject.CommonName
}

// isAuthFailure tells a refused login (counted by the lockout) from a
// failure of the server (storage, corruption).
func isAuthFailure(err error) bool {
	return errors.Is(err, logical.ErrInvalidRequest) || errors.Is(err, logical.ErrPermissionDenied)
}

// matchRole returns the first role (the named one, or every role in name
// order) that trusts chain and whose constraints its leaf meets.
func (b *Backend) matchRole(ctx context.Context, s logical.Storage, name string, chain []*x509.Certificate) (*roleEntry, error) {
	names := []string{name}
	if name == "" {
		var err error
		if names, err = roleNames(ctx, s); err != nil {
			return nil, err
		}
	}
	now := b.now()
	var verifyErr error
	verified := false
	for _, n := range names {
		r, err := loadRole(ctx, s, n)
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue // the named role does not exist, or was just deleted
		}
		t, err := b.trusts.get(r.Certificate)
		if err != nil {
			continue // unreachable for a role written through certs/
		}
		ok, err := t.verifyChain(chain, now)
		if err != nil {
			verifyErr = err
			continue
		}
		if !ok {
			continue
		}
		verified = true
		if r.matchesConstraints(chain[0]) {
			return r, nil
		}
	}
	switch {
	case verified:
		return nil, errNoMatch
	case verifyErr != nil:
		return nil, logical.InvalidRequest("", "failed to verify client's certificate: %v", verifyErr)
	default:
		return nil, errUntrusted
	}
}

// loginAuth is the Auth of a successful login: the leaf's identity, its
// metadata, and the role's token parameters.
func loginAuth(r *roleEntry, leaf *x509.Certificate, aliasMetadata bool) *logical.Auth {
	meta := map[string]string{
		"cert_name":        r.Name,
		"common_name":      leaf.Subject.CommonName,
		"serial_number":    leaf.SerialNumber.String(),
		"subject_key_id":   hexColons(leaf.SubjectKeyId),
		"authority_key_id": hexColons(leaf.AuthorityKeyId),
	}
	a := &logical.Auth{
		Metadata:    meta,
		DisplayName: r.DisplayName,
		EntityType:  entityType,
		Alias: &logical.Alias{
			Name:       leaf.Subject.CommonName,
			EntityName: leaf.Subject.CommonName,
		},
	}
	if aliasMetadata {
		a.Alias.Metadata = copyMap(meta)
	}
	r.Apply(a)
	return a
}

// hexColons formats b as Vault's certutil.GetHexFormatted(b, ":").
func hexColons(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, len(b)*3)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
