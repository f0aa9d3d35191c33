package ssh

import (
	"context"
	"maps"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// actionGenerate is the authorization action of sign/ and issue/.
const actionGenerate = "generate"

// certFields are the fields sign/ and issue/ share.
func certFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"role":             {Type: framework.TypeString, Description: "The role to sign for."},
		"valid_principals": {Type: framework.TypeStringSlice, Description: "Comma-separated principals (users or hosts); default: the role's default_user."},
		"cert_type":        {Type: framework.TypeString, Default: "user", Description: `"user" or "host".`},
		"ttl":              {Type: framework.TypeDuration, Description: "Certificate lifetime (default: the role's ttl, at most its max_ttl)."},
		"key_id":           {Type: framework.TypeString, Description: "Key id of the certificate (needs the role's allow_user_key_ids)."},
		"critical_options": {Type: framework.TypeStringMap, Description: "Critical options (default: the role's default_critical_options)."},
		"extensions":       {Type: framework.TypeStringMap, Description: "Extensions (default: the role's default_extensions)."},
	}
}

func (b *Backend) pathSign() *framework.Path {
	fields := certFields()
	fields["public_key"] = &framework.FieldSchema{Type: framework.TypeString, Description: "The SSH public key to sign."}
	return &framework.Path{
		Pattern:      `sign/` + roleRe,
		Fields:       fields,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleSign},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: actionGenerate, logical.CreateOperation: actionGenerate},
		HelpSynopsis: "Sign a public key with the CA key for a role.",
	}
}

func (b *Backend) pathIssue() *framework.Path {
	fields := certFields()
	fields["key_type"] = &framework.FieldSchema{Type: framework.TypeString, Default: "rsa", Description: "Type of key to generate: rsa, ec, ecdsa, ed25519 (or an OpenSSH key type name)."}
	fields["key_bits"] = &framework.FieldSchema{Type: framework.TypeInt, Default: 0, Description: "RSA modulus bits (default 4096) or ECDSA curve bits (256, 384, 521)."}
	return &framework.Path{
		Pattern:      `issue/` + roleRe,
		Fields:       fields,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleIssue},
		Actions:      map[logical.Operation]string{logical.UpdateOperation: actionGenerate, logical.CreateOperation: actionGenerate},
		HelpSynopsis: "Generate a key pair and sign its public key with the CA key for a role.",
	}
}

// signRequest is a sign/ request.
type signRequest struct {
	signInput
	PublicKey string `json:"public_key"`
}

// issueRequest is an issue/ request.
type issueRequest struct {
	signInput
	KeyType string `json:"key_type"`
	KeyBits int    `json:"key_bits"`
}

func (b *Backend) handleSign(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in signRequest
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	name := d.String("role")
	r, err := mustRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey("public_key", in.PublicKey)
	if err != nil {
		return nil, err
	}
	family, bits := keyFamily(pub)
	if err := checkKeyAllowed(r.AllowedUserKeyLengths, family, bits, "public_key", "public_key"); err != nil {
		return nil, err
	}
	p, err := b.plan(name, r, &in.signInput)
	if err != nil {
		return nil, err
	}
	cert, err := b.sign(ctx, req.Storage, p, pub)
	if err != nil {
		return nil, err
	}
	return cert.response(nil), nil
}

// handleIssue checks the request, then generates the key pair and signs
// it. The private key is in the answer only (never stored).
func (b *Backend) handleIssue(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in issueRequest
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	name := d.String("role")
	r, err := mustRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	spec, err := parseKeySpec(in.KeyType, in.KeyBits, "key_type", "key_bits")
	if err != nil {
		return nil, err
	}
	if err := checkKeyAllowed(r.AllowedUserKeyLengths, spec.family, spec.bits, "key_type", "key_bits"); err != nil {
		return nil, err
	}
	p, err := b.plan(name, r, &in.signInput)
	if err != nil {
		return nil, err
	}
	// Fail on a missing CA before spending a key generation.
	if _, err := b.caSigner(ctx, req.Storage, r.AlgorithmSigner); err != nil {
		return nil, err
	}
	privPEM, pubLine, err := generateKey(spec)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey("public_key", pubLine)
	if err != nil {
		return nil, err
	}
	cert, err := b.sign(ctx, req.Storage, p, pub)
	if err != nil {
		return nil, err
	}
	return cert.response(map[string]any{"private_key": privPEM, "private_key_type": in.KeyType}), nil
}

// response is Vault's answer to sign/ (and, with extra, issue/): the
// serial number is audited in clear, everything else HMAC'd.
func (c *signedCert) response(extra map[string]any) *logical.Response {
	data := map[string]any{"serial_number": c.serial, "signed_key": c.signedKey}
	maps.Copy(data, extra)
	return &logical.Response{Data: data, AuditClear: []string{"serial_number"}}
}
