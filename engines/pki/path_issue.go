package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// issueInput is an issue/:role, sign/:role or sign-verbatim request.
type issueInput struct {
	CommonName        string   `json:"common_name"`
	AltNames          []string `json:"alt_names"`
	IPSANs            []string `json:"ip_sans"`
	ExcludeCNFromSANs bool     `json:"exclude_cn_from_sans"`
	Format            string   `json:"format"`
	PrivateKeyFormat  string   `json:"private_key_format"`
	CSR               string   `json:"csr"`
	KeyUsage          []string `json:"key_usage"`
	ExtKeyUsage       []string `json:"ext_key_usage"`
}

func issueFields() fields {
	return merge(subjectFields(), fields{
		"role":          {Type: framework.TypeString},
		"csr":           {Type: framework.TypeString, Description: "The PEM CSR to sign (sign/ and sign-verbatim)."},
		"key_usage":     {Type: framework.TypeStringSlice, Default: []string{"DigitalSignature", "KeyAgreement", "KeyEncipherment"}, Description: "sign-verbatim: key usages."},
		"ext_key_usage": {Type: framework.TypeStringSlice, Description: "sign-verbatim: extended key usages."},
	})
}

func (b *Backend) issuePaths() []*framework.Path {
	gen := map[logical.Operation]string{logical.UpdateOperation: "generate", logical.CreateOperation: "generate"}
	roleRe := `(?P<role>\w(([\w-.]+)?\w)?)`
	return []*framework.Path{
		{
			Pattern: `issue/` + roleRe, Fields: issueFields(), Actions: gen,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleIssue},
			HelpSynopsis: "Issue a certificate and its private key for a role.",
		},
		{
			Pattern: `sign/` + roleRe, Fields: issueFields(), Actions: gen,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSign},
			HelpSynopsis: "Sign a CSR for a role.",
		},
		{
			Pattern: `sign-verbatim(/` + roleRe + `)?`, Fields: issueFields(), Actions: gen, Sudo: true,
			Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSignVerbatim},
			HelpSynopsis: "Sign a CSR as it is, without role name checks.",
		},
	}
}

// leaf is a certificate to issue, after the role's checks.
type leaf struct {
	subject pkix.Name
	dns     []string
	emails  []string
	ips     []net.IP
	pub     crypto.PublicKey
	ku      x509.KeyUsage
	eku     []x509.ExtKeyUsage
	bounds  ttlBounds
	issuer  string
	noStore bool
	lease   bool
	key     crypto.Signer
}

func decodeIssue(d *framework.FieldData) (*issueInput, error) {
	var in issueInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkFormat(in.Format); err != nil {
		return nil, err
	}
	return &in, checkKeyFormat(in.PrivateKeyFormat)
}

func (b *Backend) handleIssue(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, err := decodeIssue(d)
	if err != nil {
		return nil, err
	}
	r, err := mustRole(ctx, req.Storage, d.String("role"))
	if err != nil {
		return nil, err
	}
	if r.KeyType == "any" {
		return nil, logical.InvalidRequest("key_type", "role key type \"any\" not allowed for issuing certificates, only signing")
	}
	lf, err := r.checkRequest(in.CommonName, in.AltNames, in.IPSANs, in.ExcludeCNFromSANs)
	if err != nil {
		return nil, err
	}
	key, err := generateKey(keySpec{Type: r.KeyType, Bits: r.KeyBits})
	if err != nil {
		return nil, err
	}
	lf.pub, lf.key = key.Public(), key
	return b.issueLeaf(ctx, req, d, lf, in)
}

func (b *Backend) handleSign(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, err := decodeIssue(d)
	if err != nil {
		return nil, err
	}
	r, err := mustRole(ctx, req.Storage, d.String("role"))
	if err != nil {
		return nil, err
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return nil, err
	}
	if err := r.checkCSRKey(csr); err != nil {
		return nil, err
	}
	cn, alt, ips := in.CommonName, in.AltNames, in.IPSANs
	if cn == "" && r.UseCSRCommonName {
		cn = csr.Subject.CommonName
	}
	if r.UseCSRSANs {
		alt = append(append(append([]string{}, alt...), csr.DNSNames...), csr.EmailAddresses...)
		for _, ip := range csr.IPAddresses {
			ips = append(ips, ip.String())
		}
	}
	lf, err := r.checkRequest(cn, alt, ips, in.ExcludeCNFromSANs)
	if err != nil {
		return nil, err
	}
	lf.pub = csr.PublicKey
	return b.issueLeaf(ctx, req, d, lf, in)
}

func (b *Backend) handleSignVerbatim(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, err := decodeIssue(d)
	if err != nil {
		return nil, err
	}
	r := defaultRole()
	if name := d.String("role"); name != "" {
		if r, err = mustRole(ctx, req.Storage, name); err != nil {
			return nil, err
		}
	}
	csr, err := parseCSR(in.CSR)
	if err != nil {
		return nil, err
	}
	ku, err := keyUsages(in.KeyUsage)
	if err != nil {
		return nil, err
	}
	eku, err := extKeyUsages(in.ExtKeyUsage, false, false)
	if err != nil {
		return nil, err
	}
	lf := &leaf{
		subject: csr.Subject, dns: csr.DNSNames, emails: csr.EmailAddresses, ips: csr.IPAddresses,
		pub: csr.PublicKey, ku: ku, eku: eku, bounds: ttlBounds{Default: r.TTL, Max: r.MaxTTL, Refuse: true},
		issuer: r.IssuerRef, noStore: r.NoStore, lease: r.GenerateLease,
	}
	return b.issueLeaf(ctx, req, d, lf, in)
}

// checkCSRKey refuses a CSR key of another type or size than the role's.
func (r *role) checkCSRKey(csr *x509.CertificateRequest) error {
	typ, bits := keyTypeOf(csr.PublicKey)
	if typ == "" {
		return logical.InvalidRequest("csr", "unsupported public key type in the CSR")
	}
	if r.KeyType == "any" {
		return nil
	}
	if typ != r.KeyType {
		return logical.InvalidRequest("csr", "role requires keys of type %s", r.KeyType)
	}
	switch {
	case typ == "rsa" && bits < r.KeyBits:
		return logical.InvalidRequest("csr", "role requires a minimum of %d bits for RSA keys, but CSR's key is %d bits", r.KeyBits, bits)
	case typ == "ec" && r.KeyBits != 0 && bits != r.KeyBits:
		return logical.InvalidRequest("csr", "role requires EC keys of %d bits, but CSR's key is %d bits", r.KeyBits, bits)
	}
	return nil
}

// checkRequest applies the role's name rules to a common name, alt
// names and IP SANs and returns the leaf they describe.
func (r *role) checkRequest(cn string, alt, ipSANs []string, excludeCN bool) (*leaf, error) {
	if cn == "" && r.RequireCN {
		return nil, logical.InvalidRequest("common_name", `the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false`)
	}
	cnIsIP := cn != "" && isIPName(cn)
	if cnIsIP {
		ipSANs = append([]string{cn}, ipSANs...)
	} else if cn != "" && r.firstDisallowed([]string{cn}) != "" {
		return nil, logical.InvalidRequest("common_name", "common name %s not allowed by this role", cn)
	}
	dnsCN := cn
	if cnIsIP {
		dnsCN = ""
	}
	dns, emails := splitSANs(dnsCN, alt, excludeCN)
	if bad := r.firstDisallowed(dns); bad != "" {
		return nil, logical.InvalidRequest("alt_names", "subject alternate name %s not allowed by this role", bad)
	}
	if bad := r.firstDisallowed(emails); bad != "" {
		return nil, logical.InvalidRequest("alt_names", "email address %s not allowed by this role", bad)
	}
	ips, err := parseIPs("ip_sans", ipSANs)
	if err != nil {
		return nil, err
	}
	if len(ips) > 0 && !r.AllowIPSANs {
		return nil, logical.InvalidRequest("ip_sans", "IP Subject Alternative Names are not allowed in this role, but was provided %s", ips[0])
	}
	ku, err := keyUsages(r.KeyUsage)
	if err != nil {
		return nil, err
	}
	eku, err := extKeyUsages(r.ExtKeyUsage, r.ServerFlag, r.ClientFlag)
	if err != nil {
		return nil, err
	}
	return &leaf{
		subject: pkix.Name{CommonName: cn, Organization: r.Organization, OrganizationalUnit: r.OU},
		dns:     dns, emails: emails, ips: ips, ku: ku, eku: eku,
		bounds: ttlBounds{Default: r.TTL, Max: r.MaxTTL, Refuse: true},
		issuer: r.IssuerRef, noStore: r.NoStore, lease: r.GenerateLease,
	}, nil
}

// leafAuditClear are the non-secret keys of issue and sign responses.
var leafAuditClear = []string{"serial_number", "expiration", "issuer_id", "certificate", "issuing_ca", "ca_chain", "private_key_type"}

// issueLeaf signs lf with the role's issuer, stores it (unless
// no_store) and answers Vault's issue/sign response.
func (b *Backend) issueLeaf(ctx context.Context, req *logical.Request, d *framework.FieldData, lf *leaf, in *issueInput) (*logical.Response, error) {
	sg, err := b.loadSigner(ctx, req.Storage, lf.issuer)
	if err != nil {
		return nil, err
	}
	urls, err := loadURLs(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	now := b.now()
	lf.bounds.Requested = d.Duration("ttl")
	na, warnings, err := b.notAfter(now, lf.bounds, sg)
	if err != nil {
		return nil, err
	}
	cert, err := createCert(&certParams{
		Subject: lf.subject, DNSNames: lf.dns, Emails: lf.emails, IPs: lf.ips,
		NotBefore: now.Add(-notBeforeSkew), NotAfter: na, KeyUsage: lf.ku, ExtKeyUsage: lf.eku, URLs: urls,
	}, lf.pub, sg.cert, sg.key)
	if err != nil {
		return nil, err
	}
	if !lf.noStore {
		if err := b.storeIssued(ctx, req.Storage, cert, sg.entry.ID); err != nil {
			return nil, err
		}
	}
	serial := formatSerial(cert.SerialNumber)
	data := map[string]any{
		"certificate": formatCert(cert.Raw, in.Format), "issuing_ca": sg.entry.Certificate,
		"ca_chain": sg.entry.CAChain, "serial_number": serial, "expiration": cert.NotAfter.Unix(),
	}
	if lf.key != nil {
		if err := addPrivateKey(data, lf.key, in.PrivateKeyFormat); err != nil {
			return nil, err
		}
	}
	resp := &logical.Response{Data: data, Warnings: warnings, AuditClear: leafAuditClear}
	if lf.lease {
		resp.Secret = &logical.Secret{
			Type: SecretCertsType, TTL: cert.NotAfter.Sub(now).Round(time.Second), Renewable: false,
			InternalData: map[string]any{"serial_number": serial},
		}
		if lf.noStore {
			resp.Warnings = append(resp.Warnings, "no_store is set: the lease cannot revoke a certificate that is not stored")
		}
	}
	return resp, nil
}

// storeIssued saves an issued certificate under its serial.
func (b *Backend) storeIssued(ctx context.Context, s logical.Storage, cert *x509.Certificate, issuerID string) error {
	return putJSON(ctx, s, certPrefix+serialKey(formatSerial(cert.SerialNumber)), &certEntry{DER: cert.Raw, IssuerID: issuerID})
}
