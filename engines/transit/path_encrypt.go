package transit

import (
	"context"
	"encoding/base64"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// readActions: decrypt/ and verify/ authorise as a "read" (Vault's
// policies grant both with the update capability).
var readActions = map[logical.Operation]string{logical.UpdateOperation: "read", logical.CreateOperation: "read"}

// clearVersion audits key_version in clear (never a plaintext).
var clearVersion = []string{"key_version"}

// cryptItemSchema is the schema of one encrypt/decrypt/rewrap item.
var cryptItemSchema = itemSchema()

func itemSchema() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"plaintext":   {Type: framework.TypeString, Description: "Base64 plaintext."},
		"ciphertext":  {Type: framework.TypeString, Description: "A vault:v<N>: ciphertext."},
		"context":     {Type: framework.TypeString, Description: "Base64 context of a derived key."},
		"key_version": {Type: framework.TypeInt, Description: "Version to encrypt with (0: latest)."},
		"reference":   {Type: framework.TypeString, Description: "Echoed in the batch result."},
	}
}

// cryptItem is one decoded item.
type cryptItem struct {
	Plaintext  string `json:"plaintext"`
	Ciphertext string `json:"ciphertext"`
	Context    string `json:"context"`
	KeyVersion int    `json:"key_version"`
}

func cryptFields() map[string]*framework.FieldSchema {
	f := itemSchema()
	f["name"] = &framework.FieldSchema{Type: framework.TypeString}
	f["type"] = &framework.FieldSchema{Type: framework.TypeString, Default: string(typeAES256), Description: "Type of a key encrypt/ creates."}
	f["nonce"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Not supported (convergent encryption)."}
	return f
}

func (b *Backend) pathEncrypt() *framework.Path {
	return &framework.Path{
		Pattern: `encrypt/` + nameRe,
		Fields:  cryptFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: b.handleEncrypt,
			logical.CreateOperation: b.handleEncrypt,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Encrypt a plaintext, or a batch of them, with a named key.",
	}
}

func (b *Backend) pathDecrypt() *framework.Path {
	return &framework.Path{
		Pattern:      `decrypt/` + nameRe,
		Fields:       cryptFields(),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleDecrypt},
		Actions:      readActions,
		HelpSynopsis: "Decrypt a ciphertext, or a batch of them, with a named key.",
	}
}

func (b *Backend) pathRewrap() *framework.Path {
	return &framework.Path{
		Pattern:      `rewrap/` + nameRe,
		Fields:       cryptFields(),
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleRewrap},
		HelpSynopsis: "Re-encrypt a ciphertext, or a batch of them, with a key's latest version.",
	}
}

func (b *Backend) handleEncrypt(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	if _, batch, _ := batchInput(d); !batch && !d.Has("plaintext") {
		return nil, logical.InvalidRequest("plaintext", "missing plaintext to encrypt")
	}
	k, err := b.key(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if k == nil {
		if req.Operation != logical.CreateOperation {
			return nil, logical.InvalidRequest("name", "encryption key not found")
		}
		if k, err = b.upsert(ctx, req.Storage, name, d); err != nil {
			return nil, err
		}
	}
	return runBatch(d, cryptItemSchema, func(in *cryptItem) (map[string]any, error) {
		pt, err := base64.StdEncoding.DecodeString(in.Plaintext)
		if err != nil {
			return nil, logical.InvalidRequest("plaintext", "failed to base64-decode plaintext")
		}
		context, err := decodeB64("context", in.Context)
		if err != nil {
			return nil, err
		}
		ct, n, err := k.encrypt(b.rand, in.KeyVersion, context, pt)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": ct, "key_version": n}, nil
	})
}

// upsert creates the key an encrypt names, as Vault does on a create:
// of the request's type, derived when the request sends a context.
func (b *Backend) upsert(ctx context.Context, s logical.Storage, name string, d *framework.FieldData) (*key, error) {
	in := keyInput{Type: d.String("type"), Derived: d.String("context") != ""}
	if items, batch, _ := batchInput(d); batch && len(items) > 0 {
		c, _ := items[0]["context"].(string)
		in.Derived = c != ""
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if !keyType(in.Type).encryption() {
		return nil, logical.InvalidRequest("type", "key type %s not supported for this operation", in.Type)
	}
	return b.update(ctx, s, name, func(cur *policy) (*policy, error) {
		if cur != nil {
			return nil, nil
		}
		return b.newPolicy(name, &in)
	})
}

func (b *Backend) handleDecrypt(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	k, err := b.mustKey(ctx, req.Storage, d.String("name"), "encryption")
	if err != nil {
		return nil, err
	}
	return runBatch(d, cryptItemSchema, func(in *cryptItem) (map[string]any, error) {
		context, err := decodeB64("context", in.Context)
		if err != nil {
			return nil, err
		}
		if in.Ciphertext == "" {
			return nil, logical.InvalidRequest("ciphertext", "missing ciphertext to decrypt")
		}
		pt, _, err := k.decrypt(b.rand, context, in.Ciphertext)
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}, nil
	})
}

func (b *Backend) handleRewrap(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	k, err := b.mustKey(ctx, req.Storage, d.String("name"), "encryption")
	if err != nil {
		return nil, err
	}
	return runBatch(d, cryptItemSchema, func(in *cryptItem) (map[string]any, error) {
		context, err := decodeB64("context", in.Context)
		if err != nil {
			return nil, err
		}
		if in.Ciphertext == "" {
			return nil, logical.InvalidRequest("ciphertext", "missing ciphertext to decrypt")
		}
		pt, _, err := k.decrypt(b.rand, context, in.Ciphertext)
		if err != nil {
			return nil, err
		}
		ct, n, err := k.encrypt(b.rand, in.KeyVersion, context, pt)
		clear(pt)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": ct, "key_version": n}, nil
	})
}
