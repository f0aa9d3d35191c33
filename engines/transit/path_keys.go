package transit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// nameRe is Vault's framework.GenericNameRegex("name").
const nameRe = `(?P<name>\w(([\w-.]+)?\w)?)`

// keyInfoClear are the key-info response fields audited in clear: none
// is secret (public keys and creation times at most).
var keyInfoClear = []string{
	"name", "type", "derived", "kdf", "convergent_encryption", "deletion_allowed", "exportable",
	"allow_plaintext_backup", "latest_version", "min_available_version", "min_decryption_version",
	"min_encryption_version", "auto_rotate_period", "supports_encryption", "supports_decryption",
	"supports_signing", "supports_derivation", "imported_key", "keys",
}

func keyFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"name":                   {Type: framework.TypeString, Description: "Name of the key."},
		"type":                   {Type: framework.TypeString, Default: string(typeAES256), Description: "Key type: aes256-gcm96, chacha20-poly1305, ed25519, ecdsa-p256, rsa-2048, rsa-4096."},
		"derived":                {Type: framework.TypeBool, Description: "Derive a key per request context (HKDF-SHA256)."},
		"convergent_encryption":  {Type: framework.TypeBool, Description: "Not supported."},
		"exportable":             {Type: framework.TypeBool, Description: "Allow export/ of the key material."},
		"allow_plaintext_backup": {Type: framework.TypeBool, Description: "Allow a plaintext backup (no backup/ path is served)."},
		"deletion_allowed":       {Type: framework.TypeBool, Description: "Allow the key to be deleted."},
		"auto_rotate_period":     {Type: framework.TypeDuration, Description: "Rotate the key this long after its latest version (0: never; at least 1h)."},
		"key_size":               {Type: framework.TypeInt, Description: "Not supported (hmac keys only in Vault)."},
		"context":                {Type: framework.TypeString, Description: "Base64 context, to show a derived ed25519 key's public key."},
	}
}

// keyInput is a key creation.
type keyInput struct {
	Type                 string        `json:"type"`
	Derived              bool          `json:"derived"`
	Convergent           bool          `json:"convergent_encryption"`
	Exportable           bool          `json:"exportable"`
	AllowPlaintextBackup bool          `json:"allow_plaintext_backup"`
	DeletionAllowed      bool          `json:"deletion_allowed"`
	AutoRotatePeriod     time.Duration `json:"auto_rotate_period"`
	KeySize              int           `json:"key_size"`
}

func (in *keyInput) validate() error {
	t := keyType(in.Type)
	switch {
	case !t.valid():
		return logical.InvalidRequest("type", "unknown key type %s", in.Type)
	case in.Convergent:
		return logical.InvalidRequest("convergent_encryption", "convergent encryption is not supported")
	case in.Derived && !t.derivation():
		return logical.InvalidRequest("derived", "key derivation and convergent encryption not supported for keys of type %s", t)
	case in.KeySize != 0:
		return logical.InvalidRequest("key_size", "key_size is not valid for algorithm %s", t)
	}
	return checkRotatePeriod(in.AutoRotatePeriod)
}

func checkRotatePeriod(d time.Duration) error {
	if d != 0 && d < time.Hour {
		return logical.InvalidRequest("auto_rotate_period", "auto rotate period must be 0 to disable or at least an hour")
	}
	return nil
}

func (b *Backend) pathKeyList() *framework.Path {
	return &framework.Path{
		Pattern:      `keys/?`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ListOperation: b.handleKeyList},
		HelpSynopsis: "List the named keys.",
	}
}

func (b *Backend) pathKey() *framework.Path {
	return &framework.Path{
		Pattern: `keys/` + nameRe,
		Fields:  keyFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleKeyRead,
			logical.UpdateOperation: b.handleKeyCreate,
			logical.DeleteOperation: b.handleKeyDelete,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Create, read and delete a named key.",
	}
}

func (b *Backend) keyExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	k, err := b.key(ctx, req.Storage, d.String("name"))
	return k != nil, err
}

func (b *Backend) handleKeyList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	keys, err := listPolicies(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("transit: no keys: %w", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (b *Backend) handleKeyRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	context, err := decodeB64("context", d.String("context"))
	if err != nil {
		return nil, err
	}
	k, err := b.key(ctx, req.Storage, d.String("name"))
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("transit: key %q: %w", d.String("name"), logical.ErrNotFound)
	}
	return k.infoResponse(context)
}

// handleKeyCreate creates the key; an existing key is left as it is
// and returned with Vault's warning.
func (b *Backend) handleKeyCreate(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in keyInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	name := d.String("name")
	existed := false
	k, err := b.update(ctx, req.Storage, name, func(cur *policy) (*policy, error) {
		if cur != nil {
			existed = true
			return nil, nil
		}
		return b.newPolicy(name, &in)
	})
	if err != nil {
		return nil, err
	}
	resp, err := k.infoResponse(nil)
	if err != nil {
		return nil, err
	}
	if existed {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("key %s already existed", name))
	}
	return resp, nil
}

// newPolicy is a new key with its first version.
func (b *Backend) newPolicy(name string, in *keyInput) (*policy, error) {
	p := &policy{
		Name: name, Type: keyType(in.Type), Derived: in.Derived,
		Exportable: in.Exportable, AllowPlaintextBackup: in.AllowPlaintextBackup,
		DeletionAllowed: in.DeletionAllowed, AutoRotatePeriod: in.AutoRotatePeriod,
		MinDecryptionVersion: 1, Keys: make(map[string]*keyEntry),
	}
	if p.Derived {
		p.KDF = kdfHKDF
	}
	if err := b.rotate(p); err != nil {
		return nil, err
	}
	return p, nil
}

func (b *Backend) handleKeyDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	l := b.locks.Of(name)
	l.Lock()
	defer l.Unlock()
	k, err := b.keyLocked(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, logical.InvalidRequest("name", "could not delete key; not found")
	}
	if !k.p.DeletionAllowed {
		return nil, logical.InvalidRequest("deletion_allowed", "deletion is not allowed for this key")
	}
	b.cache.set(name, nil)
	b.sched.forget(name)
	return nil, deletePolicy(ctx, req.Storage, name)
}

// infoResponse is Vault's key info; context shows a derived ed25519
// key's public keys.
func (k *key) infoResponse(context []byte) (*logical.Response, error) {
	p := k.p
	data := map[string]any{
		"name": p.Name, "type": string(p.Type), "derived": p.Derived,
		"deletion_allowed": p.DeletionAllowed, "exportable": p.Exportable,
		"allow_plaintext_backup": p.AllowPlaintextBackup, "latest_version": p.LatestVersion,
		"min_available_version": p.MinAvailableVersion, "min_decryption_version": p.MinDecryptionVersion,
		"min_encryption_version": p.MinEncryptionVersion, "auto_rotate_period": int64(p.AutoRotatePeriod.Seconds()),
		"supports_encryption": p.Type.encryption(), "supports_decryption": p.Type.encryption(),
		"supports_signing": p.Type.signing(), "supports_derivation": p.Type.derivation(),
		"imported_key": false,
	}
	if p.Derived {
		data["kdf"] = p.KDF
		data["convergent_encryption"] = false
	}
	if p.Type.symmetric() {
		keys := make(map[string]int64, len(k.versions))
		for n, v := range k.versions {
			keys[strconv.Itoa(n)] = v.entry.CreationTime.Unix()
		}
		data["keys"] = keys
		return &logical.Response{Data: data, AuditClear: keyInfoClear}, nil
	}
	keys := make(map[string]map[string]any, len(k.versions))
	for n, v := range k.versions {
		pub := v.public
		if p.Derived {
			pub = ""
			if len(context) > 0 {
				s, err := k.signer(v, context)
				if err != nil {
					return nil, err
				}
				pub = base64.StdEncoding.EncodeToString(s.Public().(ed25519.PublicKey))
			}
		}
		keys[strconv.Itoa(n)] = map[string]any{
			"name": curveName(p.Type), "public_key": pub, "creation_time": v.entry.CreationTime,
		}
	}
	data["keys"] = keys
	return &logical.Response{Data: data, AuditClear: keyInfoClear}, nil
}

// curveName is the "name" Vault shows for an asymmetric key version.
func curveName(t keyType) string {
	if t == typeECDSAP256 {
		return "P-256"
	}
	return string(t)
}

// decodeB64 decodes an optional base64 field ("" is nil).
func decodeB64(field, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	out, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, logical.InvalidRequest(field, "failed to base64-decode %s", field)
	}
	return out, nil
}
