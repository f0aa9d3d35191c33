package pki

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) revokePaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: `revoke`,
			Fields: fields{
				"serial_number": {Type: framework.TypeString, Description: "Serial of the certificate to revoke (hex, ':' or '-' separated)."},
				"certificate":   {Type: framework.TypeString, Description: "Or the PEM certificate itself."},
			},
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRevoke},
			Actions:      map[logical.Operation]string{logical.UpdateOperation: "revoke", logical.CreateOperation: "revoke"},
			HelpSynopsis: "Revoke a certificate.",
		},
		{
			Pattern: `crl/rotate`,
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation: b.handleCRLRotate, logical.UpdateOperation: b.handleCRLRotate,
			},
			HelpSynopsis: "Rebuild the CRLs now.",
		},
	}
}

func (b *Backend) handleRevoke(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	serial := d.String("serial_number")
	if text := d.String("certificate"); text != "" {
		if serial != "" {
			return nil, logical.InvalidRequest("serial_number", "provide serial_number or certificate, not both")
		}
		c, err := parseCertPEM(text)
		if err != nil {
			return nil, logical.InvalidRequest("certificate", "%s", err.Error())
		}
		serial = formatSerial(c.SerialNumber)
	}
	if serial == "" {
		return nil, logical.InvalidRequest("serial_number", "the serial number must be provided")
	}
	if _, ok := parseSerial(serial); !ok {
		return nil, logical.InvalidRequest("serial_number", "invalid serial number %q", serial)
	}
	r, err := b.revoke(ctx, req.Storage, serial)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"revocation_time": r.RevocationTime.Unix(), "revocation_time_rfc3339": r.RevocationTime.Format(time.RFC3339Nano),
		"state": "revoked", "serial_number": serial,
	}, AuditClear: []string{"revocation_time", "revocation_time_rfc3339", "state", "serial_number"}}, nil
}

// revoke records the revocation of serial (once: a second revocation
// returns the first) and rebuilds its issuer's CRL.
func (b *Backend) revoke(ctx context.Context, s logical.Storage, serial string) (*revokedEntry, error) {
	serial = normalizeSerial(serial)
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, err := loadRevoked(ctx, s, serial); err != nil || r != nil {
		return r, err
	}
	ce, err := loadCert(ctx, s, serial)
	if err != nil {
		return nil, err
	}
	if ce == nil {
		return nil, logical.InvalidRequest("serial_number", "certificate with serial %s not found", serial)
	}
	cert, err := x509.ParseCertificate(ce.DER)
	if err != nil {
		return nil, ErrCorrupt
	}
	all, err := allIssuers(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, is := range all {
		if is.SerialNumber == serial {
			return nil, logical.InvalidRequest("serial_number", "adding issuer (id: %s) to its own CRL is not allowed", is.ID)
		}
	}
	r := &revokedEntry{SerialNumber: serial, RevocationTime: b.now().UTC(), IssuerID: ce.IssuerID, DER: cert.Raw}
	if err := putJSON(ctx, s, revokedPrefix+serialKey(serial), r); err != nil {
		return nil, err
	}
	is, err := loadIssuer(ctx, s, ce.IssuerID)
	if err != nil {
		return nil, err
	}
	if is != nil && is.KeyID != "" {
		if _, err := b.rebuildCRL(ctx, s, is); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (b *Backend) handleCRLRotate(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.rebuildAllCRLs(ctx, req.Storage); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"success": true}}, nil
}

// secretCerts is the leased certificate of a generate_lease role: not
// renewable; its revocation (at lease end, or with its token) revokes
// the certificate.
func (b *Backend) secretCerts() *framework.Secret {
	return &framework.Secret{
		Type: SecretCertsType,
		Revoke: func(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
			serial, _ := req.Secret.InternalData["serial_number"].(string)
			if serial == "" {
				return nil, logical.InvalidRequest("serial_number", "lease has no serial number")
			}
			ce, err := loadCert(ctx, req.Storage, serial)
			if err != nil || ce == nil {
				return nil, err
			}
			if cert, err := x509.ParseCertificate(ce.DER); err == nil && b.now().After(cert.NotAfter) {
				return nil, nil
			}
			_, err = b.revoke(ctx, req.Storage, serial)
			return nil, err
		},
	}
}
