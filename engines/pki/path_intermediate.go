package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) intermediatePaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: `intermediate/generate/` + typeRe, Sudo: true,
			Fields:       merge(subjectFields(), caFields()),
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleIntermediateGenerate},
			Actions:      map[logical.Operation]string{logical.UpdateOperation: "generate", logical.CreateOperation: "generate"},
			HelpSynopsis: "Generate a key and a CSR for an intermediate CA.",
		},
		{
			Pattern: `intermediate/set-signed`, Sudo: true,
			Fields:       fields{"certificate": {Type: framework.TypeString, Required: true, Description: "The signed intermediate certificate (PEM, optionally followed by its chain)."}},
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSetSigned},
			HelpSynopsis: "Import the signed certificate of a generated intermediate CSR.",
		},
	}
}

func (b *Backend) handleIntermediateGenerate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, spec, err := decodeCA(d)
	if err != nil {
		return nil, err
	}
	ips, err := parseIPs("ip_sans", in.IPSANs)
	if err != nil {
		return nil, err
	}
	key, err := generateKey(spec)
	if err != nil {
		return nil, err
	}
	dns, emails := splitSANs(in.CommonName, in.AltNames, in.ExcludeCNFromSANs)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: in.subjectName(), DNSNames: dns, EmailAddresses: emails, IPAddresses: ips,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create CSR: %w", err)
	}
	b.mu.Lock()
	ke, err := storeKey(ctx, req.Storage, key, in.KeyName)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"csr":    strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))),
		"key_id": ke.ID, "key_name": ke.Name,
	}
	if in.Exported == "exported" {
		if err := addPrivateKey(data, key, in.PrivateKeyFormat); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: data, AuditClear: []string{"csr", "key_id", "key_name"}}, nil
}

// handleSetSigned imports a certificate bundle: each certificate whose
// public key is one of the mount's keys becomes an issuer that can sign;
// the others (its chain) become verification-only issuers. Certificates
// already imported are reported as existing.
func (b *Backend) handleSetSigned(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	certs, err := parseCertsPEM(d.String("certificate"))
	if err != nil {
		return nil, logical.InvalidRequest("certificate", "%s", err.Error())
	}
	for _, c := range certs {
		if !c.IsCA {
			return nil, logical.InvalidRequest("certificate", "certificate %s is not a CA certificate", formatSerial(c.SerialNumber))
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	keys, err := keysByPublic(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if _, ok := keys[string(spki(certs[0]))]; !ok {
		return nil, logical.InvalidRequest("certificate", "the certificate's public key matches no key of this mount (generate the CSR with intermediate/generate first)")
	}
	all, err := allIssuers(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	imported, existing, mapping := []string{}, []string{}, map[string]any{}
	for _, c := range certs {
		if id := findIssuerByCert(all, c); id != "" {
			existing = append(existing, id)
			continue
		}
		keyID := keys[string(spki(c))]
		is, err := b.addIssuer(ctx, req.Storage, c, keyID, "")
		if err != nil {
			return nil, err
		}
		all = append(all, is)
		imported = append(imported, is.ID)
		mapping[is.ID] = keyID
		if keyID != "" {
			if _, err := b.rebuildCRL(ctx, req.Storage, is); err != nil {
				return nil, err
			}
		}
	}
	return &logical.Response{Data: map[string]any{
		"imported_issuers": imported, "imported_keys": nil, "mapping": mapping,
		"existing_issuers": existing, "existing_keys": nil,
	}, AuditClear: []string{"imported_issuers", "mapping", "existing_issuers"}}, nil
}

// keysByPublic maps each stored key's PKIX public key to its id.
func keysByPublic(ctx context.Context, s logical.Storage) (map[string]string, error) {
	ids, err := listKeys(ctx, s, keyPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		k, err := loadKey(ctx, s, id)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue
		}
		key, err := parseStoredKey(k)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return nil, fmt.Errorf("%w: key %s", ErrCorrupt, id)
		}
		out[string(der)] = id
	}
	return out, nil
}

func spki(c *x509.Certificate) []byte { return c.RawSubjectPublicKeyInfo }

// findIssuerByCert returns the id of the issuer holding c, or "".
func findIssuerByCert(all []*issuerEntry, c *x509.Certificate) string {
	text := certPEM(c.Raw)
	for _, is := range all {
		if strings.TrimSpace(is.Certificate) == text {
			return is.ID
		}
	}
	return ""
}
