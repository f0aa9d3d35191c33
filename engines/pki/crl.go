package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// revokedOf lists the revocations of issuer id.
func revokedOf(ctx context.Context, s logical.Storage, issuerID string) ([]*revokedEntry, error) {
	keys, err := listKeys(ctx, s, revokedPrefix)
	if err != nil {
		return nil, err
	}
	var out []*revokedEntry
	for _, k := range keys {
		r, err := loadRevoked(ctx, s, k)
		if err != nil {
			return nil, err
		}
		if r != nil && r.IssuerID == issuerID {
			out = append(out, r)
		}
	}
	return out, nil
}

// rebuildCRL signs a fresh CRL for is (an issuer with a key) listing
// its revocations (none while config/crl disables CRLs), valid for
// config/crl's expiry. Callers hold b.mu.
func (b *Backend) rebuildCRL(ctx context.Context, s logical.Storage, is *issuerEntry) (*crlEntry, error) {
	sg, err := b.signerOf(ctx, s, is)
	if err != nil {
		return nil, err
	}
	cfg, err := loadCRLConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	var entries []x509.RevocationListEntry
	if !cfg.Disable {
		revoked, err := revokedOf(ctx, s, is.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range revoked {
			n, ok := parseSerial(r.SerialNumber)
			if !ok {
				return nil, fmt.Errorf("%w: revoked/%s", ErrCorrupt, serialKey(r.SerialNumber))
			}
			entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.RevocationTime})
		}
	}
	prev, err := loadCRL(ctx, s, is.ID)
	if err != nil {
		return nil, err
	}
	num := int64(1)
	if prev != nil {
		num = prev.Number + 1
	}
	now := b.now()
	next := now.Add(cfg.Expiry)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries, Number: big.NewInt(num), ThisUpdate: now, NextUpdate: next,
	}, sg.cert, sg.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign CRL of issuer %s: %w", is.ID, err)
	}
	e := &crlEntry{DER: der, Number: num, ThisUpdate: now, NextUpdate: next}
	if err := putJSON(ctx, s, crlPrefix+is.ID, e); err != nil {
		return nil, err
	}
	b.log.Debug("pki: CRL rebuilt", "issuer_id", is.ID, "number", num, "revoked", len(entries))
	return e, nil
}

// rebuildAllCRLs rebuilds the CRL of every issuer that has a key.
// Callers hold b.mu.
func (b *Backend) rebuildAllCRLs(ctx context.Context, s logical.Storage) error {
	all, err := allIssuers(ctx, s)
	if err != nil {
		return err
	}
	for _, is := range all {
		if is.KeyID == "" {
			continue
		}
		if _, err := b.rebuildCRL(ctx, s, is); err != nil {
			return err
		}
	}
	return nil
}

// rebuildDueCRLs rebuilds every CRL that is missing or past half of
// its validity.
func (b *Backend) rebuildDueCRLs(ctx context.Context, s logical.Storage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	all, err := allIssuers(ctx, s)
	if err != nil {
		return err
	}
	now := b.now()
	for _, is := range all {
		if is.KeyID == "" {
			continue
		}
		c, err := loadCRL(ctx, s, is.ID)
		if err != nil {
			return err
		}
		if c != nil && now.Before(c.ThisUpdate.Add(c.NextUpdate.Sub(c.ThisUpdate)/2)) {
			continue
		}
		if _, err := b.rebuildCRL(ctx, s, is); err != nil {
			return err
		}
	}
	return nil
}

// parseSerial parses Vault's "1a:2b" serial form.
func parseSerial(s string) (*big.Int, bool) {
	hexDigits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ':' && s[i] != '-' {
			hexDigits = append(hexDigits, s[i])
		}
	}
	if len(hexDigits) == 0 {
		return nil, false
	}
	return new(big.Int).SetString(string(hexDigits), 16)
}
