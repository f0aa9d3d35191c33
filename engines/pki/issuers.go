package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// defaultRef is the issuer reference meaning "the mount's default".
const defaultRef = "default"

// issuerNameRe is what an issuer or key name may be (Vault's: letters,
// digits, "-" and "_", not a UUID and not "default").
var issuerNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

// checkName validates an issuer_name / key_name.
func checkName(field, name string) error {
	if name == "" {
		return nil
	}
	if name == defaultRef || !issuerNameRe.MatchString(name) || uuidRe.MatchString(name) {
		return logical.InvalidRequest(field, "invalid name %q: letters, digits, '-' and '_' only; not \"default\" nor a UUID", name)
	}
	return nil
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// allIssuers loads every issuer, oldest first.
func allIssuers(ctx context.Context, s logical.Storage) ([]*issuerEntry, error) {
	ids, err := listKeys(ctx, s, issuerPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]*issuerEntry, 0, len(ids))
	for _, id := range ids {
		is, err := loadIssuer(ctx, s, id)
		if err != nil {
			return nil, err
		}
		if is != nil {
			out = append(out, is)
		}
	}
	slices.SortFunc(out, func(a, b *issuerEntry) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// resolveIssuer finds the issuer ref names: "default" (or ""), an id,
// or a name. Missing is logical.ErrNotFound (an unknown default:
// InvalidRequest, as Vault's "no default issuer currently configured").
func resolveIssuer(ctx context.Context, s logical.Storage, ref string) (*issuerEntry, error) {
	if ref == "" || ref == defaultRef {
		cfg, err := loadIssuersConfig(ctx, s)
		if err != nil {
			return nil, err
		}
		if cfg.Default == "" {
			return nil, logical.InvalidRequest("issuer_ref", "no default issuer currently configured")
		}
		ref = cfg.Default
	}
	if uuidRe.MatchString(ref) {
		is, err := loadIssuer(ctx, s, ref)
		if err != nil || is != nil {
			return is, err
		}
	}
	all, err := allIssuers(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, is := range all {
		if is.Name == ref {
			return is, nil
		}
	}
	return nil, fmt.Errorf("pki: unable to find PKI issuer for reference: %s: %w", ref, logical.ErrNotFound)
}

// loadSigner resolves ref to an issuer that has a key, parsed.
func (b *Backend) loadSigner(ctx context.Context, s logical.Storage, ref string) (*signer, error) {
	is, err := resolveIssuer(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	return b.signerOf(ctx, s, is)
}

// signerOf parses is and its key (cached).
func (b *Backend) signerOf(ctx context.Context, s logical.Storage, is *issuerEntry) (*signer, error) {
	if sg := b.signers.get(is); sg != nil {
		return sg, nil
	}
	if is.KeyID == "" {
		return nil, logical.InvalidRequest("issuer_ref", "issuer %s has no key: it cannot sign", is.ID)
	}
	cert, err := parseCertPEM(is.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
	}
	k, err := loadKey(ctx, s, is.KeyID)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("%w: issuer %s", ErrNoKey, is.ID)
	}
	key, err := parseStoredKey(k)
	if err != nil {
		return nil, err
	}
	sg := &signer{entry: is, cert: cert, key: key}
	b.signers.put(sg)
	return sg, nil
}

// parseCertPEM decodes the first certificate of a PEM text.
func parseCertPEM(text string) (*x509.Certificate, error) {
	certs, err := parseCertsPEM(text)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// parseCertsPEM decodes every certificate of a PEM bundle (at least one).
func parseCertsPEM(text string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(text)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no certificate in PEM data")
	}
	return out, nil
}

// certPEM encodes a DER certificate as PEM (no trailing newline, as
// Vault returns it).
func certPEM(der []byte) string {
	return string(bytes.TrimSpace(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}

// nameTaken reports whether another issuer than id is called name.
func nameTaken(all []*issuerEntry, name, id string) bool {
	return name != "" && slices.ContainsFunc(all, func(is *issuerEntry) bool { return is.Name == name && is.ID != id })
}

// storeKey saves a new private key and returns its entry.
func storeKey(ctx context.Context, s logical.Storage, k crypto.Signer, name string) (*keyEntry, error) {
	text, err := pkcs8PEM(k)
	if err != nil {
		return nil, err
	}
	id, err := logical.NewUUID()
	if err != nil {
		return nil, fmt.Errorf("pki: key id: %w", err)
	}
	typ, _ := keyTypeOf(k.Public())
	e := &keyEntry{ID: id, Name: name, Type: typ, PrivateKey: text}
	return e, putJSON(ctx, s, keyPrefix+id, e)
}

// addIssuer stores a new issuer for cert (signed by keyID, or "" for
// none) and makes it the default when there is none or the config
// follows the latest issuer. Callers hold b.mu.
func (b *Backend) addIssuer(ctx context.Context, s logical.Storage, cert *x509.Certificate, keyID, name string) (*issuerEntry, error) {
	all, err := allIssuers(ctx, s)
	if err != nil {
		return nil, err
	}
	if nameTaken(all, name, "") {
		return nil, logical.InvalidRequest("issuer_name", "issuer name already in use")
	}
	id, err := logical.NewUUID()
	if err != nil {
		return nil, fmt.Errorf("pki: issuer id: %w", err)
	}
	var seq int64
	if len(all) > 0 {
		seq = all[len(all)-1].Seq + 1
	}
	is := &issuerEntry{
		ID: id, Name: name, KeyID: keyID, Certificate: certPEM(cert.Raw),
		SerialNumber: formatSerial(cert.SerialNumber), LeafNotAfterBehavior: "err", Seq: seq,
	}
	all = append(all, is)
	if err := rebuildChains(ctx, s, all); err != nil {
		return nil, err
	}
	cfg, err := loadIssuersConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if keyID != "" && (cfg.Default == "" || cfg.DefaultFollowsLatestIssuer) {
		cfg.Default = id
		if err := putJSON(ctx, s, issuersConfigKey, cfg); err != nil {
			return nil, err
		}
	}
	return is, nil
}

// rebuildChains recomputes every issuer's ca_chain (itself, then its
// parents among the mount's issuers, up to a self-signed one) and
// stores the issuers whose chain changed, plus any not yet stored.
func rebuildChains(ctx context.Context, s logical.Storage, all []*issuerEntry) error {
	certs := make([]*x509.Certificate, len(all))
	for i, is := range all {
		c, err := parseCertPEM(is.Certificate)
		if err != nil {
			return fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
		}
		certs[i] = c
	}
	for i, is := range all {
		chain := []string{is.Certificate}
		cur := certs[i]
		for depth := 0; depth < 10 && !selfSigned(cur); depth++ {
			j := slices.IndexFunc(certs, func(p *x509.Certificate) bool { return p != cur && issuedBy(cur, p) })
			if j < 0 {
				break
			}
			chain = append(chain, all[j].Certificate)
			cur = certs[j]
		}
		stored, err := loadIssuer(ctx, s, is.ID)
		if err != nil {
			return err
		}
		if stored != nil && slices.Equal(stored.CAChain, chain) {
			continue
		}
		is.CAChain = chain
		if err := putJSON(ctx, s, issuerPrefix+is.ID, is); err != nil {
			return err
		}
	}
	return nil
}

func selfSigned(c *x509.Certificate) bool { return issuedBy(c, c) }

// issuedBy reports whether parent's key signed c.
func issuedBy(c, parent *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, parent.RawSubject) && c.CheckSignatureFrom(parent) == nil
}
