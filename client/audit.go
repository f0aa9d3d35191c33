package client

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
)

// AuditDevice describes one enabled audit device (an entry of GET
// sys/audit).
type AuditDevice struct {
	// Type is the device type ("file", "socket", "syslog", ...).
	Type        string `json:"type"`
	Description string `json:"description"`
	// Options are the device's options, e.g. file_path.
	Options map[string]string `json:"options"`
	// Local: the device is not replicated to other clusters.
	Local bool `json:"local"`
	// Path is where the device is enabled, with a trailing slash ("file/").
	Path string `json:"path"`
}

// AuditInput is the body of PUT sys/audit/:path.
type AuditInput struct {
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Options     map[string]string `json:"options,omitempty"`
	Local       bool              `json:"local,omitempty"`
}

// AuditHashOutput is the answer of sys/audit-hash: the HMAC a device
// writes for a value, and the key generation it was computed with.
type AuditHashOutput struct {
	// Hash is "hmac-sha256:<hex>", as in the device's log lines.
	Hash string `json:"hash"`
	// Generation is the device's HMAC key generation (hmac_key_gen).
	Generation uint64 `json:"generation"`
}

// AuditPublicKey is a device's checkpoint signing key.
type AuditPublicKey struct {
	// PublicKey is a PEM "PUBLIC KEY" block (PKIX, Ed25519).
	PublicKey string `json:"public_key"`
	// KeyID names the key in the device's checkpoints.
	KeyID string `json:"key_id"`
	// Algorithm is "ed25519".
	Algorithm string `json:"algorithm"`
}

// Ed25519 parses PublicKey.
func (k *AuditPublicKey) Ed25519() (ed25519.PublicKey, error) {
	block, _ := pem.Decode([]byte(k.PublicKey))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("client: audit public key is not a PEM \"PUBLIC KEY\" block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("client: audit public key: %w", err)
	}
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("client: audit public key is a %T, not Ed25519", pub)
	}
	return ed, nil
}

// AuditSignature is a device's signature over an evidence bundle's
// manifest.
type AuditSignature struct {
	// Signature is the raw 64-byte Ed25519 signature.
	Signature []byte
	// KeyID names the key that made it.
	KeyID string
}

// ListAudit returns the enabled audit devices keyed by path with a
// trailing slash, e.g. "file/" (GET sys/audit); none is an empty map.
func (s *Sys) ListAudit(ctx context.Context) (map[string]*AuditDevice, error) {
	out := map[string]*AuditDevice{}
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/audit"}, &out); err != nil {
		return nil, fmt.Errorf("list audit devices: %w", err)
	}
	return out, nil
}

// EnableAudit enables an audit device of in.Type at path (PUT
// sys/audit/:path).
func (s *Sys) EnableAudit(ctx context.Context, path string, in *AuditInput) error {
	path, err := auditPath(path)
	if err != nil {
		return err
	}
	if in == nil || in.Type == "" {
		return invalidArg("enable audit device needs a type")
	}
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/audit/" + path, body: in}); err != nil {
		return fmt.Errorf("enable audit device %s: %w", path, err)
	}
	return nil
}

// DisableAudit disables the audit device at path (DELETE
// sys/audit/:path).
func (s *Sys) DisableAudit(ctx context.Context, path string) error {
	path, err := auditPath(path)
	if err != nil {
		return err
	}
	if err := s.c.send(ctx, request{method: http.MethodDelete, path: "sys/audit/" + path}); err != nil {
		return fmt.Errorf("disable audit device %s: %w", path, err)
	}
	return nil
}

// AuditHash returns the HMAC the device at path writes for input, under
// its current key generation (PUT sys/audit-hash/:path). input is sent to
// the server and never appears in an error.
func (s *Sys) AuditHash(ctx context.Context, path, input string) (*AuditHashOutput, error) {
	return s.auditHash(ctx, path, map[string]any{"input": input})
}

// AuditHashGeneration is AuditHash under key generation gen, the
// hmac_key_gen of the log line to compare with.
func (s *Sys) AuditHashGeneration(ctx context.Context, path, input string, gen uint64) (*AuditHashOutput, error) {
	return s.auditHash(ctx, path, map[string]any{"input": input, "generation": gen})
}

func (s *Sys) auditHash(ctx context.Context, path string, body map[string]any) (*AuditHashOutput, error) {
	path, err := auditPath(path)
	if err != nil {
		return nil, err
	}
	var out AuditHashOutput
	if err := s.c.data(ctx, request{method: http.MethodPut, path: "sys/audit-hash/" + path, body: body}, &out); err != nil {
		return nil, fmt.Errorf("audit hash at %s: %w", path, err)
	}
	if out.Hash == "" {
		return nil, fmt.Errorf("audit hash at %s: the answer carries no hash", path)
	}
	return &out, nil
}

// AuditPublicKey returns the public key the device at path signs its
// checkpoints with (GET sys/audit/:path/public-key).
func (s *Sys) AuditPublicKey(ctx context.Context, path string) (*AuditPublicKey, error) {
	path, err := auditPath(path)
	if err != nil {
		return nil, err
	}
	var out AuditPublicKey
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/audit/" + path + "/public-key"}, &out); err != nil {
		return nil, fmt.Errorf("read audit public key of %s: %w", path, err)
	}
	if out.PublicKey == "" {
		return nil, fmt.Errorf("read audit public key of %s: the answer carries no key", path)
	}
	return &out, nil
}

// SignAuditManifest has the device at path sign an evidence bundle's
// manifest, given its SHA-256 (PUT sys/audit/:path/sign-manifest). The
// device signs audit.ManifestMessage(manifestSHA256) with its checkpoint
// key; the caller verifies the signature with AuditPublicKey.
func (s *Sys) SignAuditManifest(ctx context.Context, path string, manifestSHA256 [sha256.Size]byte) (*AuditSignature, error) {
	path, err := auditPath(path)
	if err != nil {
		return nil, err
	}
	var out struct {
		Signature string `json:"signature"`
		KeyID     string `json:"key_id"`
	}
	body := map[string]any{"manifest_sha256": hex.EncodeToString(manifestSHA256[:])}
	if err := s.c.data(ctx, request{method: http.MethodPut, path: "sys/audit/" + path + "/sign-manifest", body: body}, &out); err != nil {
		return nil, fmt.Errorf("sign audit manifest with %s: %w", path, err)
	}
	sig, err := base64.StdEncoding.DecodeString(out.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("sign audit manifest with %s: the answer's signature is not %d bytes of base64", path, ed25519.SignatureSize)
	}
	return &AuditSignature{Signature: sig, KeyID: out.KeyID}, nil
}

// auditPath trims an audit device path and refuses an empty one.
func auditPath(path string) (string, error) {
	path = strings.Trim(path, "/")
	if path == "" {
		return "", invalidArg("audit device path is empty")
	}
	return path, nil
}
