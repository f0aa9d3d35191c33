package transit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strconv"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// The export types, Vault's.
const (
	exportEncryption = "encryption-key"
	exportSigning    = "signing-key"
	exportHMAC       = "hmac-key"
	exportPublic     = "public-key"
)

func (b *Backend) pathExport() *framework.Path {
	return &framework.Path{
		Pattern: `export/(?P<type>[^/]+)/` + nameRe + `(/(?P<version>[^/]+))?`,
		Fields: map[string]*framework.FieldSchema{
			"type":    {Type: framework.TypeString, Description: "encryption-key, signing-key, hmac-key or public-key."},
			"name":    {Type: framework.TypeString},
			"version": {Type: framework.TypeString, Description: `A version number or "latest" (default: all).`},
		},
		Operations:   map[logical.Operation]framework.OperationHandler{logical.ReadOperation: b.handleExport},
		HelpSynopsis: "Export a named key's material (exportable keys only, but public keys).",
	}
}

func (b *Backend) handleExport(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	kind, name := d.String("type"), d.String("name")
	switch kind {
	case exportEncryption, exportSigning, exportHMAC, exportPublic:
	default:
		return nil, logical.InvalidRequest("type", "invalid export type: %s", kind)
	}
	k, err := b.key(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("transit: key %q: %w", name, logical.ErrNotFound)
	}
	p := k.p
	switch {
	case !p.Exportable && kind != exportPublic:
		return nil, logical.InvalidRequest("exportable", "private key material is not exportable")
	case kind == exportEncryption && !p.Type.encryption():
		return nil, logical.InvalidRequest("type", "encryption not supported for the key")
	case kind == exportSigning && !p.Type.signing():
		return nil, logical.InvalidRequest("type", "signing not supported for the key")
	case kind == exportPublic && (!p.Type.signing() || p.Derived):
		return nil, logical.InvalidRequest("type", "public-key export not supported for the key")
	}
	versions, err := exportVersions(k, d.String("version"))
	if err != nil {
		return nil, err
	}
	keys := make(map[string]string, len(versions))
	for _, n := range versions {
		if keys[strconv.Itoa(n)], err = exportKey(k, k.versions[n], kind); err != nil {
			return nil, err
		}
	}
	return &logical.Response{Data: map[string]any{"name": p.Name, "type": string(p.Type), "keys": keys}}, nil
}

// exportVersions are the versions an export names: all ("") or one.
func exportVersions(k *key, ver string) ([]int, error) {
	if ver == "" {
		out := make([]int, 0, len(k.versions))
		for n := range k.versions {
			out = append(out, n)
		}
		return out, nil
	}
	n := k.p.LatestVersion
	if ver != "latest" {
		var err error
		if n, err = strconv.Atoi(ver); err != nil || n < 1 {
			return nil, logical.InvalidRequest("version", "invalid key version")
		}
	}
	switch {
	case n < k.p.MinDecryptionVersion:
		return nil, logical.InvalidRequest("version", "version for export is below minimum decryption version")
	case k.versions[n] == nil:
		return nil, logical.InvalidRequest("version", "version does not exist or cannot be found")
	}
	return []int{n}, nil
}

// exportKey renders one version as Vault's export does.
func exportKey(k *key, v *version, kind string) (string, error) {
	b64 := base64.StdEncoding.EncodeToString
	switch kind {
	case exportHMAC:
		return b64(v.entry.HMACKey), nil
	case exportPublic:
		return v.public, nil
	}
	if k.p.Type.symmetric() || k.p.Derived {
		return b64(v.entry.Key), nil
	}
	switch s := v.signer.(type) {
	case ed25519.PrivateKey:
		return b64(s), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(s)
		if err != nil {
			return "", fmt.Errorf("%w: marshal key: %w", ErrInternal, err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	case *rsa.PrivateKey:
		der := x509.MarshalPKCS1PrivateKey(s)
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})), nil
	}
	return "", fmt.Errorf("%w: key %q has no private key", ErrInternal, k.p.Name)
}
