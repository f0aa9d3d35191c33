package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"

	"golang.org/x/crypto/ocsp"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// maxOCSPRequest bounds an OCSP request body (a request for one
// certificate is ~100 bytes; OpenBao allows a few kilobytes).
const maxOCSPRequest = 16 << 10

func (b *Backend) ocspPaths() []*framework.Path {
	return []*framework.Path{
		{
			Pattern: `ocsp`, Unauthenticated: true, RawBody: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleOCSPPost},
			HelpSynopsis: "OCSP responder (RFC 6960), POST of application/ocsp-request.",
		},
		{
			Pattern: `ocsp/(?P<req>.+)`, Unauthenticated: true, RawBody: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleOCSPGet},
			HelpSynopsis: "OCSP responder (RFC 6960), GET of a base64 request.",
		},
	}
}

func (b *Backend) handleOCSPPost(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	if req.Body == nil {
		return ocspError(ocsp.MalformedRequestErrorResponse, 400), nil
	}
	der, err := io.ReadAll(io.LimitReader(req.Body, maxOCSPRequest+1))
	if err != nil {
		return nil, fmt.Errorf("pki: read OCSP request: %w", err)
	}
	if len(der) > maxOCSPRequest {
		return nil, fmt.Errorf("pki: OCSP request: %w", logical.ErrRequestTooLarge)
	}
	return b.answerOCSP(ctx, req.Storage, der)
}

func (b *Backend) handleOCSPGet(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	enc := d.String("req")
	if len(enc) > 2*maxOCSPRequest {
		return nil, fmt.Errorf("pki: OCSP request: %w", logical.ErrRequestTooLarge)
	}
	if un, err := url.PathUnescape(enc); err == nil {
		enc = un
	}
	der, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if der, err = base64.RawURLEncoding.DecodeString(enc); err != nil {
			return ocspError(ocsp.MalformedRequestErrorResponse, 400), nil
		}
	}
	return b.answerOCSP(ctx, req.Storage, der)
}

// ocspError is an unsigned OCSP error response.
func ocspError(body []byte, status int) *logical.Response {
	return &logical.Response{Binary: &logical.Binary{ContentType: ctOCSPResp, Data: body, Status: status}}
}

// answerOCSP answers one DER OCSP request: good for a stored
// certificate of one of our issuers, revoked for a revoked one, unknown
// otherwise; signed by the issuer itself. An issuer we do not hold, or
// OCSP disabled by config/crl, is "unauthorized".
func (b *Backend) answerOCSP(ctx context.Context, s logical.Storage, der []byte) (*logical.Response, error) {
	oreq, err := ocsp.ParseRequest(der)
	if err != nil {
		return ocspError(ocsp.MalformedRequestErrorResponse, 400), nil
	}
	cfg, err := loadCRLConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	if cfg.OCSPDisable {
		return ocspError(ocsp.UnauthorizedErrorResponse, 401), nil
	}
	sg, err := b.ocspIssuer(ctx, s, oreq)
	if err != nil {
		return nil, err
	}
	if sg == nil {
		return ocspError(ocsp.UnauthorizedErrorResponse, 401), nil
	}
	now := b.now()
	tmpl := ocsp.Response{Status: ocsp.Unknown, SerialNumber: oreq.SerialNumber, ThisUpdate: now, IssuerHash: oreq.HashAlgorithm}
	if cfg.OCSPExpiry > 0 {
		tmpl.NextUpdate = now.Add(cfg.OCSPExpiry)
	}
	serial := formatSerial(oreq.SerialNumber)
	rev, err := loadRevoked(ctx, s, serial)
	if err != nil {
		return nil, err
	}
	switch {
	case rev != nil && rev.IssuerID == sg.entry.ID:
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, rev.RevocationTime, ocsp.Unspecified
	default:
		ce, err := loadCert(ctx, s, serial)
		if err != nil {
			return nil, err
		}
		if ce != nil && ce.IssuerID == sg.entry.ID {
			tmpl.Status = ocsp.Good
		}
	}
	body, err := ocsp.CreateResponse(sg.cert, sg.cert, tmpl, sg.key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign OCSP response: %w", err)
	}
	return &logical.Response{Binary: &logical.Binary{ContentType: ctOCSPResp, Data: body}}, nil
}

// ocspIssuer finds the issuer (with a key) whose name and key hashes
// the request names; nil when none.
func (b *Backend) ocspIssuer(ctx context.Context, s logical.Storage, oreq *ocsp.Request) (*signer, error) {
	if !oreq.HashAlgorithm.Available() {
		return nil, nil
	}
	all, err := allIssuers(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, is := range all {
		if is.KeyID == "" {
			continue
		}
		c, err := parseCertPEM(is.Certificate)
		if err != nil {
			return nil, fmt.Errorf("%w: issuer %s", ErrCorrupt, is.ID)
		}
		nameHash, keyHash, err := issuerHashes(c, oreq.HashAlgorithm)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(nameHash, oreq.IssuerNameHash) && bytes.Equal(keyHash, oreq.IssuerKeyHash) {
			sg, err := b.signerOf(ctx, s, is)
			if errors.Is(err, ErrNoKey) {
				continue
			}
			return sg, err
		}
	}
	return nil, nil
}

// issuerHashes are RFC 6960's issuerNameHash and issuerKeyHash of c.
func issuerHashes(c *x509.Certificate, h crypto.Hash) (name, key []byte, err error) {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, fmt.Errorf("%w: issuer public key", ErrCorrupt)
	}
	hn := h.New()
	hn.Write(c.RawSubject)
	hk := h.New()
	hk.Write(spki.PublicKey.RightAlign())
	return hn.Sum(nil), hk.Sum(nil), nil
}
