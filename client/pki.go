package client

import (
	"context"
	"net/http"
	"strings"
)

// PKI is a PKI secrets engine mounted at one path.
type PKI struct{ mountPath }

// PKI returns the helpers for the PKI engine at mount, e.g. "pki".
func (c *Client) PKI(mount string) *PKI {
	return &PKI{mountPath{c: c, mount: strings.Trim(mount, "/")}}
}

// PKIIssueInput is the body of issue/:role and sign/:role. Empty fields
// are left to the role's defaults.
type PKIIssueInput struct {
	CommonName string `json:"common_name,omitempty"`
	// AltNames and IPSANs are comma-separated lists.
	AltNames          string `json:"alt_names,omitempty"`
	IPSANs            string `json:"ip_sans,omitempty"`
	TTL               string `json:"ttl,omitempty"`
	Format            string `json:"format,omitempty"`
	PrivateKeyFormat  string `json:"private_key_format,omitempty"`
	ExcludeCNFromSANs bool   `json:"exclude_cn_from_sans,omitempty"`
	// CSR is the PEM request for Sign (ignored by Issue).
	CSR string `json:"csr,omitempty"`
}

// PKICertificate is an issued or signed certificate. PrivateKey is set by
// Issue only.
type PKICertificate struct {
	Certificate    string   `json:"certificate"`
	IssuingCA      string   `json:"issuing_ca"`
	CAChain        []string `json:"ca_chain"`
	SerialNumber   string   `json:"serial_number"`
	Expiration     int64    `json:"expiration"`
	PrivateKey     string   `json:"private_key,omitempty"`
	PrivateKeyType string   `json:"private_key_type,omitempty"`
	LeaseInfo
	// Raw is the whole response envelope.
	Raw *Secret `json:"-"`
}

// PKIRevocation is the answer of revoke.
type PKIRevocation struct {
	// RevocationTime is Unix seconds.
	RevocationTime int64  `json:"revocation_time"`
	State          string `json:"state"`
	SerialNumber   string `json:"serial_number"`
}

// Issue has role issue a certificate and its new private key (PUT
// mount/issue/:role).
func (p *PKI) Issue(ctx context.Context, role string, in *PKIIssueInput) (*PKICertificate, error) {
	return p.certificate(ctx, "issue", role, in)
}

// Sign has role sign in.CSR (PUT mount/sign/:role).
func (p *PKI) Sign(ctx context.Context, role string, in *PKIIssueInput) (*PKICertificate, error) {
	if in == nil || in.CSR == "" {
		return nil, invalidArg("pki sign: csr is empty")
	}
	return p.certificate(ctx, "sign", role, in)
}

func (p *PKI) certificate(ctx context.Context, kind, role string, in *PKIIssueInput) (*PKICertificate, error) {
	path, err := p.sub(kind, "pki "+kind, role)
	if err != nil {
		return nil, err
	}
	if in == nil {
		in = &PKIIssueInput{}
	}
	var out PKICertificate
	s, err := p.call(ctx, "pki "+kind+" "+role, request{method: http.MethodPut, path: path, body: in}, &out)
	if err != nil {
		return nil, err
	}
	out.LeaseInfo, out.Raw = leaseOf(s), s
	return &out, nil
}

// Revoke revokes the certificate with serial (hex, ':' or '-'
// separated) and returns its revocation (PUT mount/revoke).
func (p *PKI) Revoke(ctx context.Context, serial string) (*PKIRevocation, error) {
	if serial == "" {
		return nil, invalidArg("pki revoke: serial number is empty")
	}
	var out PKIRevocation
	body := map[string]any{"serial_number": serial}
	if _, err := p.call(ctx, "pki revoke "+serial, request{method: http.MethodPut, path: p.mount + "/revoke", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
