package pki

import (
	"context"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Content types of the binary answers (Vault's).
const (
	ctCertDER  = "application/pkix-cert"
	ctCertPEM  = "application/pem-certificate-chain"
	ctCRLDER   = "application/pkix-crl"
	ctCRLPEM   = "application/x-pem-file"
	ctOCSPResp = "application/ocsp-response"
)

func (b *Backend) fetchPaths() []*framework.Path {
	read := func(h framework.OperationHandler) map[logical.Operation]framework.OperationHandler {
		return map[logical.Operation]framework.OperationHandler{logical.ReadOperation: h}
	}
	serialRe := `(?P<serial>[0-9A-Fa-f:-]+|ca|ca_chain|crl)`
	return []*framework.Path{
		{Pattern: `ca`, Unauthenticated: true, Operations: read(b.handleCA(false)), HelpSynopsis: "The default issuer's certificate (DER)."},
		{Pattern: `ca/pem`, Unauthenticated: true, Operations: read(b.handleCA(true)), HelpSynopsis: "The default issuer's certificate (PEM)."},
		{Pattern: `ca_chain`, Unauthenticated: true, Operations: read(b.handleCAChain), HelpSynopsis: "The default issuer's chain (PEM)."},
		{Pattern: `crl`, Unauthenticated: true, Operations: read(b.handleCRL(false)), HelpSynopsis: "The default issuer's CRL (DER)."},
		{Pattern: `crl/pem`, Unauthenticated: true, Operations: read(b.handleCRL(true)), HelpSynopsis: "The default issuer's CRL (PEM)."},
		{
			Pattern: `cert/` + serialRe + `(?P<raw>/raw(/pem)?)?`, Unauthenticated: true,
			Operations: read(b.handleCertRead), HelpSynopsis: "A certificate by serial (or ca, ca_chain, crl).",
		},
		{
			Pattern:      `certs/?`,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleCertList},
			HelpSynopsis: "List the stored certificates' serials.",
		},
	}
}

func (b *Backend) handleCA(asPEM bool) framework.OperationHandler {
	return func(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		is, err := resolveIssuer(ctx, req.Storage, defaultRef)
		if err != nil {
			return nil, notFoundIfUnset(err)
		}
		if asPEM {
			return &logical.Response{Binary: &logical.Binary{ContentType: ctCertPEM, Data: []byte(is.Certificate + "\n")}}, nil
		}
		c, err := parseCertPEM(is.Certificate)
		if err != nil {
			return nil, fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
		}
		return &logical.Response{Binary: &logical.Binary{ContentType: ctCertDER, Data: c.Raw}}, nil
	}
}

// notFoundIfUnset turns "no default issuer" into a 404 for fetches.
func notFoundIfUnset(err error) error {
	if isNotFound(err) {
		return err
	}
	return fmt.Errorf("pki: %v: %w", err, logical.ErrNotFound)
}

func (b *Backend) handleCAChain(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	is, err := resolveIssuer(ctx, req.Storage, defaultRef)
	if err != nil {
		return nil, notFoundIfUnset(err)
	}
	return &logical.Response{Binary: &logical.Binary{ContentType: ctCertPEM, Data: []byte(strings.Join(is.CAChain, "\n") + "\n")}}, nil
}

// defaultCRL returns the default issuer's CRL, building it if missing.
func (b *Backend) defaultCRL(ctx context.Context, s logical.Storage) (*crlEntry, error) {
	is, err := resolveIssuer(ctx, s, defaultRef)
	if err != nil {
		return nil, notFoundIfUnset(err)
	}
	c, err := loadCRL(ctx, s, is.ID)
	if err != nil || c != nil {
		return c, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rebuildCRL(ctx, s, is)
}

func (b *Backend) handleCRL(asPEM bool) framework.OperationHandler {
	return func(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
		c, err := b.defaultCRL(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		if asPEM {
			return &logical.Response{Binary: &logical.Binary{ContentType: ctCRLPEM, Data: pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: c.DER})}}, nil
		}
		return &logical.Response{Binary: &logical.Binary{ContentType: ctCRLDER, Data: c.DER}}, nil
	}
}

func (b *Backend) handleCertRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	serial, raw := d.String("serial"), d.String("raw")
	var (
		text     string
		der      []byte
		issuerID string
		revoked  time.Time
	)
	switch serial {
	case "ca", "ca_chain":
		is, err := resolveIssuer(ctx, req.Storage, defaultRef)
		if err != nil {
			return nil, notFoundIfUnset(err)
		}
		text, issuerID = is.Certificate, is.ID
		if serial == "ca_chain" {
			text = strings.Join(is.CAChain, "\n")
		}
	case "crl":
		c, err := b.defaultCRL(ctx, req.Storage)
		if err != nil {
			return nil, err
		}
		der, text = c.DER, strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: c.DER})))
	default:
		ce, err := loadCert(ctx, req.Storage, serial)
		if err != nil {
			return nil, err
		}
		if ce == nil {
			return nil, fmt.Errorf("pki: certificate %s: %w", serial, logical.ErrNotFound)
		}
		der, text, issuerID = ce.DER, certPEM(ce.DER), ce.IssuerID
		r, err := loadRevoked(ctx, req.Storage, serial)
		if err != nil {
			return nil, err
		}
		if r != nil {
			revoked = r.RevocationTime
		}
	}
	switch raw {
	case "/raw":
		if der == nil {
			c, err := parseCertPEM(text)
			if err != nil {
				return nil, fmt.Errorf("%w: %s", ErrCorrupt, serial)
			}
			der = c.Raw
		}
		return &logical.Response{Binary: &logical.Binary{ContentType: ctCertDER, Data: der}}, nil
	case "/raw/pem":
		return &logical.Response{Binary: &logical.Binary{ContentType: ctCertPEM, Data: []byte(text + "\n")}}, nil
	}
	data := map[string]any{"certificate": text, "revocation_time": int64(0), "revocation_time_rfc3339": "", "issuer_id": issuerID}
	if !revoked.IsZero() {
		data["revocation_time"], data["revocation_time_rfc3339"] = revoked.Unix(), revoked.Format(time.RFC3339Nano)
	}
	if serial == "ca_chain" {
		data["ca_chain"] = text
	}
	return &logical.Response{Data: data, AuditClear: []string{"certificate", "revocation_time", "revocation_time_rfc3339", "issuer_id", "ca_chain"}}, nil
}

func (b *Backend) handleCertList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := listKeys(ctx, req.Storage, certPrefix)
	if err != nil {
		return nil, err
	}
	return listResponse(keys, "certificates")
}
