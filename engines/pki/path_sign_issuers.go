package pki

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// signIntermediateInput is a root/sign-intermediate request.
type signIntermediateInput struct {
	subjectInput
	CSR           string `json:"csr"`
	IssuerRef     string `json:"issuer_ref"`
	MaxPathLength int    `json:"max_path_length"`
	UseCSRValues  bool   `json:"use_csr_values"`
	Format        string `json:"format"`
}

func (b *Backend) pathSignIntermediate() *framework.Path {
	return &framework.Path{
		Pattern: `root/sign-intermediate`, Sudo: true,
		Fields: merge(subjectFields(), fields{
			"csr":             {Type: framework.TypeString, Required: true, Description: "The intermediate's PEM CSR."},
			"issuer_ref":      {Type: framework.TypeString, Default: defaultRef, Description: "The issuer that signs."},
			"max_path_length": {Type: framework.TypeInt, Default: -1, Description: "Path length constraint (-1: none)."},
			"use_csr_values":  {Type: framework.TypeBool, Description: "Take the subject and SANs from the CSR."},
		}),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSignIntermediate},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: "generate", logical.CreateOperation: "generate"},
		HelpSynopsis: "Sign an intermediate CA's CSR with an issuer of this mount.",
	}
}

// parseCSR decodes and verifies a PEM CSR; errors name "csr".
func parseCSR(text string) (*x509.CertificateRequest, error) {
	blk, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
		return nil, logical.InvalidRequest("csr", "certificate request could not be parsed: no PEM CERTIFICATE REQUEST block")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, logical.InvalidRequest("csr", "certificate request could not be parsed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, logical.InvalidRequest("csr", "request signature invalid: %v", err)
	}
	return csr, nil
}

func (b *Backend) handleSignIntermediate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in signIntermediateInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, err
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return nil, err
	}
	sg, err := b.loadSigner(ctx, req.Storage, in.IssuerRef)
	if err != nil {
		return nil, err
	}
	subject := in.subjectName()
	dns, emails := splitSANs(in.CommonName, in.AltNames, in.ExcludeCNFromSANs)
	ips, err := parseIPs("ip_sans", in.IPSANs)
	if err != nil {
		return nil, err
	}
	if in.UseCSRValues || in.CommonName == "" {
		subject = csr.Subject
		dns, emails, ips = csr.DNSNames, csr.EmailAddresses, csr.IPAddresses
	}
	if subject.CommonName == "" && in.CommonName == "" {
		return nil, logical.InvalidRequest("common_name", "the common_name field is required")
	}
	urls, err := loadURLs(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	now := b.now()
	na, warnings, err := b.notAfter(now, ttlBounds{Requested: d.Duration("ttl")}, sg)
	if err != nil {
		return nil, err
	}
	cert, err := createCert(&certParams{
		Subject: subject, DNSNames: dns, Emails: emails, IPs: ips,
		NotBefore: now.Add(-notBeforeSkew), NotAfter: na, IsCA: true, MaxPathLen: in.MaxPathLength,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, URLs: urls,
	}, csr.PublicKey, sg.cert, sg.key)
	if err != nil {
		return nil, err
	}
	if err := b.storeIssued(ctx, req.Storage, cert, sg.entry.ID); err != nil {
		return nil, err
	}
	data := map[string]any{
		"certificate": formatCert(cert.Raw, in.Format), "issuing_ca": sg.entry.Certificate,
		"ca_chain": append([]string{certPEM(cert.Raw)}, sg.entry.CAChain...), "serial_number": formatSerial(cert.SerialNumber),
		"expiration": cert.NotAfter.Unix(),
	}
	return &logical.Response{Data: data, Warnings: warnings, AuditClear: caAuditClear}, nil
}
