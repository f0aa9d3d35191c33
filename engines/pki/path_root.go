package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// caInput is a root or intermediate generation request.
type caInput struct {
	subjectInput
	Exported         string `json:"exported"`
	KeyType          string `json:"key_type"`
	KeyBits          int    `json:"key_bits"`
	KeyName          string `json:"key_name"`
	IssuerName       string `json:"issuer_name"`
	MaxPathLength    int    `json:"max_path_length"`
	Format           string `json:"format"`
	PrivateKeyFormat string `json:"private_key_format"`
}

func (b *Backend) rootPaths() []*framework.Path {
	gen := func(pattern, synopsis string, defaultName string) *framework.Path {
		f := merge(subjectFields(), caFields())
		if defaultName != "" {
			f["issuer_name"] = &framework.FieldSchema{Type: framework.TypeString, Default: defaultName}
		}
		return &framework.Path{
			Pattern: pattern, Fields: f, Sudo: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRootGenerate},
			Actions:      map[logical.Operation]string{logical.UpdateOperation: "generate", logical.CreateOperation: "generate"},
			HelpSynopsis: synopsis,
		}
	}
	return []*framework.Path{
		gen(`root/generate/`+typeRe, "Generate a new self-signed CA (a new key and issuer).", ""),
		gen(`root/rotate/`+typeRe, "Generate a new root issuer; the old one keeps verifying what it signed.", "next"),
		b.pathSignIntermediate(),
		{
			Pattern: `root/replace`, Sudo: true,
			Fields:       fields{"default": {Type: framework.TypeString, Default: "next", Description: "The issuer to make the default."}},
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRootReplace},
			HelpSynopsis: "Make another issuer the mount's default.",
		},
	}
}

// decodeCA decodes and checks a CA generation request.
func decodeCA(d *framework.FieldData) (*caInput, keySpec, error) {
	var in caInput
	if err := d.Decode(&in); err != nil {
		return nil, keySpec{}, err
	}
	if in.CommonName == "" {
		return nil, keySpec{}, logical.InvalidRequest("common_name", "the common_name field is required")
	}
	if in.Exported != "internal" && in.Exported != "exported" {
		return nil, keySpec{}, logical.InvalidRequest("exported", "only \"internal\" and \"exported\" are supported, got %q", in.Exported)
	}
	spec, err := resolveKeySpec(in.KeyType, in.KeyBits, false)
	if err != nil {
		return nil, keySpec{}, err
	}
	for _, e := range []error{checkName("issuer_name", in.IssuerName), checkName("key_name", in.KeyName), checkKeyFormat(in.PrivateKeyFormat), checkFormat(in.Format)} {
		if e != nil {
			return nil, keySpec{}, e
		}
	}
	return &in, spec, nil
}

func (b *Backend) handleRootGenerate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, spec, err := decodeCA(d)
	if err != nil {
		return nil, err
	}
	ips, err := parseIPs("ip_sans", in.IPSANs)
	if err != nil {
		return nil, err
	}
	urls, err := loadURLs(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	now := b.now()
	na, warnings, err := b.notAfter(now, ttlBounds{Requested: d.Duration("ttl")}, nil)
	if err != nil {
		return nil, err
	}
	key, err := generateKey(spec)
	if err != nil {
		return nil, err
	}
	p := &certParams{
		Subject: in.subjectName(), IPs: ips, NotBefore: now.Add(-notBeforeSkew), NotAfter: na,
		IsCA: true, MaxPathLen: in.MaxPathLength, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		URLs: urls,
	}
	p.DNSNames, p.Emails = splitSANs(in.CommonName, in.AltNames, in.ExcludeCNFromSANs)
	cert, err := createCert(p, key.Public(), nil, key)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ke, err := storeKey(ctx, req.Storage, key, in.KeyName)
	if err != nil {
		return nil, err
	}
	is, err := b.addIssuer(ctx, req.Storage, cert, ke.ID, in.IssuerName)
	if err != nil {
		_ = deleteKey(ctx, req.Storage, keyPrefix+ke.ID)
		return nil, err
	}
	if _, err := b.rebuildCRL(ctx, req.Storage, is); err != nil {
		return nil, err
	}
	data := map[string]any{
		"certificate": formatCert(cert.Raw, in.Format), "issuing_ca": formatCert(cert.Raw, in.Format),
		"serial_number": formatSerial(cert.SerialNumber), "expiration": cert.NotAfter.Unix(),
		"issuer_id": is.ID, "issuer_name": is.Name, "key_id": ke.ID, "key_name": ke.Name,
	}
	if in.Exported == "exported" {
		if err := addPrivateKey(data, key, in.PrivateKeyFormat); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: data, Warnings: warnings, AuditClear: caAuditClear}, nil
}

// caAuditClear are the non-secret keys of CA responses.
var caAuditClear = []string{"serial_number", "expiration", "issuer_id", "issuer_name", "key_id", "key_name", "certificate", "issuing_ca", "ca_chain"}

// addPrivateKey puts an exported key and its type in data.
func addPrivateKey(data map[string]any, key crypto.Signer, format string) error {
	text, err := exportPEM(key, format)
	if err != nil {
		return err
	}
	typ, _ := keyTypeOf(key.Public())
	data["private_key"] = strings.TrimSpace(text)
	data["private_key_type"] = typ
	return nil
}

// checkFormat validates a certificate output format.
func checkFormat(f string) error {
	switch f {
	case "", "pem", "der", "pem_bundle":
		return nil
	}
	return logical.InvalidRequest("format", "unknown format %q (pem, der or pem_bundle)", f)
}

// formatCert renders a DER certificate as format asks ("der": base64).
func formatCert(der []byte, format string) string {
	if format == "der" {
		return base64.StdEncoding.EncodeToString(der)
	}
	return certPEM(der)
}

func (b *Backend) handleRootReplace(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return b.setDefaultIssuer(ctx, req.Storage, d.String("default"), nil)
}
