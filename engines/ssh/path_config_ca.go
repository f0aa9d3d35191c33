package ssh

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func configCAFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"private_key":          {Type: framework.TypeString, Description: "Private half of the SSH key that will be used to sign certificates (PEM or OpenSSH)."},
		"public_key":           {Type: framework.TypeString, Description: "Public half of the SSH key that will be used to sign certificates."},
		"generate_signing_key": {Type: framework.TypeBool, Description: "Generate the SSH key pair internally rather than use private_key and public_key (default: true when neither is sent)."},
		"key_type":             {Type: framework.TypeString, Default: ssh.KeyAlgoRSA, Description: "Key type to generate: ssh-rsa, ecdsa-sha2-nistp256|384|521, ssh-ed25519, or rsa, ec, ecdsa, ed25519."},
		"key_bits":             {Type: framework.TypeInt, Default: 0, Description: "RSA modulus bits (default 4096) or ECDSA curve bits (256, 384, 521)."},
	}
}

// configCAInput is a config/ca write; nil means "not sent".
type configCAInput struct {
	PrivateKey         string `json:"private_key"`
	PublicKey          string `json:"public_key"`
	GenerateSigningKey *bool  `json:"generate_signing_key"`
	KeyType            string `json:"key_type"`
	KeyBits            int    `json:"key_bits"`
}

func (b *Backend) pathConfigCA() *framework.Path {
	return &framework.Path{
		Pattern: `config/ca`,
		Fields:  configCAFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigCARead,
			logical.UpdateOperation: b.handleConfigCAWrite,
			logical.DeleteOperation: b.handleConfigCADelete,
		},
		Sudo:         true,
		HelpSynopsis: "Set up, read or delete the CA key the mount signs certificates with.",
	}
}

// handleConfigCARead answers the CA public keys sshd should trust, one
// per line: the current key first, then the replaced keys whose
// certificates may still be valid.
func (b *Backend) handleConfigCARead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	ca, err := loadCA(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		return nil, logical.InvalidRequest("", "keys haven't been configured yet")
	}
	return &logical.Response{Data: map[string]any{"public_key": strings.Join(ca.published(b.now()), "\n")}}, nil
}

// handleConfigCAWrite generates or imports the CA key pair, once: a
// configured mount must be deleted first, as in Vault. The answer holds
// the public key only.
func (b *Backend) handleConfigCAWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in configCAInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	b.caMu.Lock()
	defer b.caMu.Unlock()
	existing, err := loadCA(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return nil, logical.InvalidRequest("", "keys are already configured; delete them before reconfiguring")
	}
	ca, err := in.caEntry()
	if err != nil {
		return nil, err
	}
	ca.CreatedAt = b.now().UTC()
	if err := putJSON(ctx, req.Storage, caKey, ca); err != nil {
		return nil, err
	}
	b.retire.note(ca)
	return &logical.Response{Data: map[string]any{"public_key": ca.PublicKey}}, nil
}

// caEntry builds the key pair the input asks for.
func (in *configCAInput) caEntry() (*caEntry, error) {
	in.PrivateKey, in.PublicKey = strings.TrimSpace(in.PrivateKey), strings.TrimSpace(in.PublicKey)
	imported := in.PrivateKey != "" || in.PublicKey != ""
	generate := !imported
	if in.GenerateSigningKey != nil {
		generate = *in.GenerateSigningKey
	}
	switch {
	case generate && imported:
		return nil, logical.InvalidRequest("generate_signing_key", "public_key and private_key must not be set when generate_signing_key is set to true")
	case generate:
		spec, err := parseKeySpec(in.KeyType, in.KeyBits, "key_type", "key_bits")
		if err != nil {
			return nil, err
		}
		priv, pub, err := generateKey(spec)
		if err != nil {
			return nil, err
		}
		return &caEntry{PublicKey: strings.TrimSpace(pub), PrivateKey: priv}, nil
	case in.PrivateKey == "":
		return nil, logical.InvalidRequest("private_key", "missing private_key")
	case in.PublicKey == "":
		return nil, logical.InvalidRequest("public_key", "missing public_key")
	}
	return importCA(in.PrivateKey, in.PublicKey)
}

// importCA checks an imported key pair: a private key this package can
// sign with, and the public key that belongs to it. Errors never quote
// either key.
func importCA(privPEM, pubLine string) (*caEntry, error) {
	raw, err := ssh.ParseRawPrivateKey([]byte(privPEM))
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, logical.InvalidRequest("private_key", "encrypted private keys are not supported")
		}
		return nil, logical.InvalidRequest("private_key", "failed to parse private_key")
	}
	priv, err := caSigner(raw)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey("public_key", pubLine)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pub.Marshal(), priv.PublicKey().Marshal()) {
		return nil, logical.InvalidRequest("public_key", "public_key does not match private_key")
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	return &caEntry{PublicKey: line, PrivateKey: privPEM}, nil
}

// caSigner wraps a parsed private key of a supported kind.
func caSigner(raw any) (ssh.Signer, error) {
	var k crypto.Signer
	switch v := raw.(type) {
	case *rsa.PrivateKey:
		if v.N.BitLen() < minRSABits {
			return nil, logical.InvalidRequest("private_key", "rsa key of %d bits is too weak (at least %d)", v.N.BitLen(), minRSABits)
		}
		k = v
	case *ecdsa.PrivateKey:
		k = v
	case ed25519.PrivateKey:
		k = v
	case *ed25519.PrivateKey:
		k = *v
	default:
		return nil, logical.InvalidRequest("private_key", "unsupported private key type %T (rsa, ecdsa or ed25519)", raw)
	}
	s, err := ssh.NewSignerFromSigner(k)
	if err != nil {
		return nil, logical.InvalidRequest("private_key", "unsupported private key: %v", err)
	}
	return s, nil
}

func (b *Backend) handleConfigCADelete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	b.caMu.Lock()
	defer b.caMu.Unlock()
	if err := deleteKey(ctx, req.Storage, caKey); err != nil {
		return nil, err
	}
	b.retire.note(nil)
	return nil, nil
}
