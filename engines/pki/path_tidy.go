package pki

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// tidyInput is a tidy request.
type tidyInput struct {
	TidyCertStore    bool          `json:"tidy_cert_store"`
	TidyRevokedCerts bool          `json:"tidy_revoked_certs"`
	SafetyBuffer     time.Duration `json:"safety_buffer"`
}

func (b *Backend) tidyPaths() []*framework.Path {
	return []*framework.Path{{
		Pattern: `tidy`,
		Fields: fields{
			"tidy_cert_store":    {Type: framework.TypeBool, Description: "Delete expired certificates from the store."},
			"tidy_revoked_certs": {Type: framework.TypeBool, Description: "Delete expired revocations (and drop them from the CRL)."},
			"safety_buffer":      {Type: framework.TypeDuration, Default: "72h", Description: "How long past expiry a certificate is kept."},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleTidy},
		HelpSynopsis: "Remove expired certificates and revocations.",
	}}
}

// handleTidy runs the tidy to completion before answering (OpenBao
// answers 202 and tidies in the background; the effect is the same,
// sooner).
func (b *Backend) handleTidy(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in tidyInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.SafetyBuffer < time.Second {
		return nil, logical.InvalidRequest("safety_buffer", "safety_buffer must be at least one second")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cutoff := b.now().Add(-in.SafetyBuffer)
	var certs, revoked int
	if in.TidyCertStore {
		n, err := b.tidyPrefix(ctx, req.Storage, certPrefix, cutoff, func(key string) ([]byte, error) {
			ce, err := loadCert(ctx, req.Storage, key)
			if err != nil || ce == nil {
				return nil, err
			}
			return ce.DER, nil
		})
		if err != nil {
			return nil, err
		}
		certs = n
	}
	if in.TidyRevokedCerts {
		n, err := b.tidyPrefix(ctx, req.Storage, revokedPrefix, cutoff, func(key string) ([]byte, error) {
			r, err := loadRevoked(ctx, req.Storage, key)
			if err != nil || r == nil {
				return nil, err
			}
			return r.DER, nil
		})
		if err != nil {
			return nil, err
		}
		revoked = n
		if n > 0 {
			if err := b.rebuildAllCRLs(ctx, req.Storage); err != nil {
				return nil, err
			}
		}
	}
	b.log.Info("pki: tidy finished", "cert_store_deleted_count", certs, "revoked_cert_deleted_count", revoked)
	return &logical.Response{
		Data:     map[string]any{"cert_store_deleted_count": certs, "revoked_cert_deleted_count": revoked},
		Warnings: []string{"Tidy operation successfully started. Any information from the operation will be printed to the server logs."},
	}, nil
}

// tidyPrefix deletes the entries under prefix whose certificate expired
// before cutoff (or cannot be parsed) and counts them.
func (b *Backend) tidyPrefix(ctx context.Context, s logical.Storage, prefix string, cutoff time.Time, der func(string) ([]byte, error)) (int, error) {
	keys, err := listKeys(ctx, s, prefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		raw, err := der(k)
		if err != nil {
			return n, err
		}
		if raw == nil {
			continue
		}
		if c, err := x509.ParseCertificate(raw); err == nil && !c.NotAfter.Before(cutoff) {
			continue
		}
		if err := deleteKey(ctx, s, prefix+k); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
