package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

var _ logical.Rotator = (*Backend)(nil)

// defaultTarget is the one rotation target of a mount: its default
// issuer, when that is a root whose key the mount holds.
const defaultTarget = "issuer/" + defaultRef

// RotationTargets implements logical.Rotator: issuer/default, when the
// default issuer is a self-signed root with its key in this mount (an
// intermediate is renewed by its parent, not here). Its age counts from
// the certificate's NotBefore; it guards the roles that issue from it
// (issue/<role>, sign/<role>), sign-verbatim and root/sign-intermediate.
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	is, cert, err := rotatableDefault(ctx, s)
	if err != nil || is == nil {
		return nil, err
	}
	guards, err := issuerGuards(ctx, s, is)
	if err != nil {
		return nil, err
	}
	return []logical.RotationTarget{{Path: defaultTarget, LastRotated: cert.NotBefore, Guards: guards}}, nil
}

// rotatableDefault returns the default issuer and its certificate when
// it is a root with a key (nil otherwise).
func rotatableDefault(ctx context.Context, s logical.Storage) (*issuerEntry, *x509.Certificate, error) {
	cfg, err := loadIssuersConfig(ctx, s)
	if err != nil || cfg.Default == "" {
		return nil, nil, err
	}
	is, err := loadIssuer(ctx, s, cfg.Default)
	if err != nil || is == nil || is.KeyID == "" {
		return nil, nil, err
	}
	cert, err := parseCertPEM(is.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
	}
	if !selfSigned(cert) {
		return nil, nil, nil
	}
	return is, cert, nil
}

// issuerGuards lists the paths that sign with is as the default issuer.
func issuerGuards(ctx context.Context, s logical.Storage, is *issuerEntry) ([]string, error) {
	names, err := listKeys(ctx, s, rolePrefix)
	if err != nil {
		return nil, err
	}
	guards := []string{"sign-verbatim", "root/sign-intermediate"}
	for _, name := range names {
		r, err := loadRole(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if r == nil {
			continue
		}
		if ref := r.IssuerRef; ref == "" || ref == defaultRef || ref == is.ID || (is.Name != "" && ref == is.Name) {
			guards = append(guards, "issue/"+name, "sign/"+name)
		}
	}
	return guards, nil
}

// Rotate implements logical.Rotator: issuer/default is replaced as
// root/rotate/internal would, with the same subject, SANs, key type and
// size, path length, key usage and validity length (capped by the
// mount's max TTL), and the new issuer becomes the default. The old
// issuer and its key stay: certificates it signed keep verifying, and
// its CRL and OCSP answers keep being signed, until it is deleted or
// tidied. Version is the new issuer's id.
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, path string) (logical.RotationResult, error) {
	if path != defaultTarget {
		return logical.RotationResult{}, fmt.Errorf("pki: rotation target %q: %w", path, logical.ErrNotFound)
	}
	old, cert, err := rotatableDefault(ctx, s)
	if err != nil {
		return logical.RotationResult{}, err
	}
	if old == nil {
		return logical.RotationResult{}, fmt.Errorf("pki: rotation target %q: no default root issuer with a key: %w", path, logical.ErrNotFound)
	}
	// The key is generated before taking the lock (an RSA key can take
	// seconds); the default must not have changed meanwhile.
	now := b.now()
	next, key, err := b.successor(ctx, s, cert, now)
	if err != nil {
		return logical.RotationResult{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur, _, err := rotatableDefault(ctx, s); err != nil {
		return logical.RotationResult{}, err
	} else if cur == nil || cur.ID != old.ID {
		return logical.RotationResult{}, fmt.Errorf("pki: rotation target %q: %w", path, ErrDefaultChanged)
	}
	is, err := b.storeSuccessor(ctx, s, next, key)
	if err != nil {
		return logical.RotationResult{}, err
	}
	b.log.Info("pki: root issuer rotated", "old_issuer_id", old.ID, "issuer_id", is.ID)
	return logical.RotationResult{Version: is.ID, RotatedAt: now}, nil
}

// storeSuccessor stores the new root and its key, signs its first CRL
// and makes it the default. Callers hold b.mu.
func (b *Backend) storeSuccessor(ctx context.Context, s logical.Storage, cert *x509.Certificate, key crypto.Signer) (*issuerEntry, error) {
	ke, err := storeKey(ctx, s, key, "")
	if err != nil {
		return nil, err
	}
	is, err := b.addIssuer(ctx, s, cert, ke.ID, "")
	if err != nil {
		_ = deleteKey(ctx, s, keyPrefix+ke.ID)
		return nil, err
	}
	if _, err := b.rebuildCRL(ctx, s, is); err != nil {
		return nil, err
	}
	cfg, err := loadIssuersConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if cfg.Default != is.ID {
		cfg.Default = is.ID
		if err := putJSON(ctx, s, issuersConfigKey, cfg); err != nil {
			return nil, err
		}
	}
	return is, nil
}

// successor signs a new self-signed root like cert, with a new key of
// the same type and size.
func (b *Backend) successor(ctx context.Context, s logical.Storage, cert *x509.Certificate, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	typ, bits := keyTypeOf(cert.PublicKey)
	spec, err := resolveKeySpec(typ, bits, false)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: rotate issuer: key of the current root: %w", err)
	}
	urls, err := loadURLs(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	ttl := max(cert.NotAfter.Sub(cert.NotBefore)-notBeforeSkew, time.Second)
	na, _, err := b.notAfter(now, ttlBounds{Requested: ttl}, nil)
	if err != nil {
		return nil, nil, err
	}
	key, err := generateKey(spec)
	if err != nil {
		return nil, nil, err
	}
	maxPath := cert.MaxPathLen
	if maxPath == 0 && !cert.MaxPathLenZero {
		maxPath = -1
	}
	p := &certParams{
		// The attributes in their order, so that the subject is the same.
		Subject:  pkix.Name{ExtraNames: cert.Subject.Names},
		DNSNames: cert.DNSNames, Emails: cert.EmailAddresses, IPs: cert.IPAddresses,
		NotBefore: now.Add(-notBeforeSkew), NotAfter: na,
		IsCA: true, MaxPathLen: maxPath, KeyUsage: cert.KeyUsage, URLs: urls,
	}
	next, err := createCert(p, key.Public(), nil, key)
	if err != nil {
		return nil, nil, err
	}
	return next, key, nil
}

// Verify implements logical.Rotator: there is nothing outside the mount
// to check a CA against.
func (b *Backend) Verify(context.Context, logical.Storage, string) error {
	return fmt.Errorf("pki: verify: %w", logical.ErrUnsupportedOperation)
}
