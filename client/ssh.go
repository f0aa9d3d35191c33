package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// SSH is an SSH secrets engine (CA mode) mounted at one path.
type SSH struct {
	c     *Client
	mount string
}

// SSH returns the helpers for the SSH engine mounted at mount, e.g. "ssh".
func (c *Client) SSH(mount string) *SSH { return &SSH{c: c, mount: strings.Trim(mount, "/")} }

// SSHSignInput is the body of PUT <mount>/sign/:role. Empty fields are
// left to the role's defaults.
type SSHSignInput struct {
	// PublicKey is the key to certify, in authorized_keys form.
	PublicKey string `json:"public_key"`
	// ValidPrincipals is a comma-separated list of users (user
	// certificates) or host names (host certificates); empty asks for the
	// role's default_user.
	ValidPrincipals string `json:"valid_principals,omitempty"`
	// CertType is "user" (default) or "host".
	CertType string `json:"cert_type,omitempty"`
	// TTL is the requested validity, e.g. "8h" (the role's max_ttl caps it).
	TTL string `json:"ttl,omitempty"`
	// KeyID is the certificate's key id (default from the role's key_id_format).
	KeyID string `json:"key_id,omitempty"`
	// Extensions and CriticalOptions, within the role's allowed ones.
	Extensions      map[string]string `json:"extensions,omitempty"`
	CriticalOptions map[string]string `json:"critical_options,omitempty"`
}

// SSHCertificate is the answer of sign: the certificate in
// authorized_keys form (what ssh reads from id_*-cert.pub) and its serial.
type SSHCertificate struct {
	SignedKey    string `json:"signed_key"`
	SerialNumber string `json:"serial_number"`
}

// Sign asks role to certify in.PublicKey.
func (s *SSH) Sign(ctx context.Context, role string, in SSHSignInput) (*SSHCertificate, error) {
	if role == "" || strings.Contains(role, "/") {
		return nil, fmt.Errorf("client: ssh sign: invalid role %q", role)
	}
	var out SSHCertificate
	req := request{method: http.MethodPut, path: s.mount + "/sign/" + url.PathEscape(role), body: in}
	if err := s.c.data(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.SignedKey == "" {
		return nil, fmt.Errorf("client: ssh sign: the server returned no signed_key")
	}
	return &out, nil
}

// PublicKey returns the CA's public key in authorized_keys form, for
// sshd's TrustedUserCAKeys (GET <mount>/public_key, no token needed).
func (s *SSH) PublicKey(ctx context.Context) (string, error) {
	resp, err := s.c.do(ctx, request{method: http.MethodGet, path: s.mount + "/public_key"})
	if err != nil {
		return "", err
	}
	if err := s.c.check(request{method: http.MethodGet, path: s.mount + "/public_key"}, resp); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(resp.body)), nil
}
