package core

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"maps"

	"github.com/secretumvault/secretumvault/audit"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// auditPaths are the audit device endpoints: sys/audit (the table),
// sys/audit/:path (enable, read, disable), its public-key and
// sign-manifest, and sys/audit-hash/:path. sys/audit and sys/audit/* are
// Vault root paths (sudo).
func (c sysHandlers) auditPaths() []*framework.Path {
	h := &auditHandlers{c: c.Core}
	fields := map[string]*framework.FieldSchema{
		"path":            {Type: framework.TypeString, Description: "The device's path."},
		"type":            {Type: framework.TypeString, Description: "file, socket, syslog or stdout."},
		"description":     {Type: framework.TypeString, Description: "A human-friendly description."},
		"options":         {Type: framework.TypeStringMap, Description: "The device's options."},
		"local":           {Type: framework.TypeBool, Description: "Accepted for Vault compatibility."},
		"input":           {Type: framework.TypeString, Description: "The value to hash."},
		"generation":      {Type: framework.TypeInt, Description: "The HMAC key generation (default: the current one)."},
		"manifest_sha256": {Type: framework.TypeString, Description: "Hex SHA-256 of an evidence bundle's manifest."},
		"after":           {Type: framework.TypeInt, Description: "The cursor of the last line already seen (0: start a tail)."},
	}
	return []*framework.Path{
		{Pattern: "audit/?", Operations: readOp(h.list), HelpSynopsis: "List the enabled audit devices."},
		{Pattern: "audit/(?P<path>.+)/public-key", Fields: fields, Operations: readOp(h.publicKey), HelpSynopsis: "The device's checkpoint signing public key."},
		{Pattern: "audit/(?P<path>.+)/tail", Fields: fields, Operations: readOp(h.tail), HelpSynopsis: "The device's lines written since a cursor, as written (a live tail)."},
		{Pattern: "audit/(?P<path>.+)/sign-manifest", Fields: fields, Operations: writeOp(h.signManifest), HelpSynopsis: "Sign an evidence bundle's manifest with the device's key."},
		{Pattern: "audit/(?P<path>.+)", Fields: fields, Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: h.read, logical.UpdateOperation: h.enable, logical.DeleteOperation: h.disable,
		}, HelpSynopsis: "Enable, read or disable an audit device."},
		{Pattern: "audit-hash/(?P<path>.+)", Fields: fields, Operations: writeOp(h.hash), HelpSynopsis: "The HMAC a device writes for a given input."},
	}
}

// auditHandlers serve the audit endpoints.
type auditHandlers struct{ c *Core }

// devices returns the active node's device set.
func (h *auditHandlers) devices() (*auditSet, error) {
	if _, err := h.c.state(); err != nil {
		return nil, err
	}
	return h.c.audits.set(), nil
}

// device returns the device at the request's path.
func (h *auditHandlers) device(d *framework.FieldData) (*liveDevice, error) {
	s, err := h.devices()
	if err != nil {
		return nil, err
	}
	path := normalizeMountPath(d.String("path"))
	dev, ok := s.devices[path]
	if !ok {
		return nil, fmt.Errorf("%w: no audit device at %q", logical.ErrNotFound, path)
	}
	return dev, nil
}

func (h *auditHandlers) list(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	s, err := h.devices()
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, e := range s.table.Entries {
		out[e.Path] = auditData(e)
	}
	return &logical.Response{Data: out}, nil
}

// auditData renders a device as Vault's sys/audit does.
func auditData(e *auditDeviceEntry) map[string]any {
	opts := map[string]any{}
	for k, v := range e.Options {
		opts[k] = v
	}
	m := map[string]any{"type": e.Type, "description": e.Description, "options": opts, "local": e.Local, "path": e.Path}
	if e.Declared {
		m["declared"] = true
	}
	return m
}

func (h *auditHandlers) read(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	dev, err := h.device(d)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: auditData(dev.entry)}, nil
}

func (h *auditHandlers) enable(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if h.c.audits.cfg.DisableAPIChanges {
		return nil, errAuditAPIDisabled
	}
	var in auditInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.Type == "" {
		return nil, logical.InvalidRequest("type", "missing audit device type")
	}
	if _, err := h.devices(); err != nil {
		return nil, err
	}
	in.Options = maps.Clone(in.Options)
	return nil, h.c.audits.enable(ctx, normalizeMountPath(d.String("path")), &in, false)
}

func (h *auditHandlers) disable(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	if h.c.audits.cfg.DisableAPIChanges {
		return nil, errAuditAPIDisabled
	}
	if _, err := h.devices(); err != nil {
		return nil, err
	}
	return nil, h.c.audits.disable(ctx, normalizeMountPath(d.String("path")), false)
}

func (h *auditHandlers) publicKey(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	dev, err := h.device(d)
	if err != nil {
		return nil, err
	}
	pub := dev.keys.Signing.Public().(ed25519.PublicKey)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("core: encode audit public key: %w", err)
	}
	return &logical.Response{Data: map[string]any{
		"public_key": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		"key_id":     audit.KeyID(pub),
		"algorithm":  "ed25519",
	}}, nil
}

// tail answers the device's lines after the cursor "after", exactly as
// written (HMAC'd), and the new cursor; the first call (after=0) starts
// the tail and answers none. Lines are kept only while someone tails.
func (h *auditHandlers) tail(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	dev, err := h.device(d)
	if err != nil {
		return nil, err
	}
	after := d.Int("after")
	if after < 0 {
		return nil, logical.InvalidRequest("after", "must not be negative")
	}
	lines, cur, err := dev.sink.tail(uint64(after))
	if err != nil {
		return nil, err
	}
	if lines == nil {
		lines = []string{}
	}
	return &logical.Response{Data: map[string]any{"lines": lines, "cursor": cur}}, nil
}

func (h *auditHandlers) signManifest(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	dev, err := h.device(d)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(d.String("manifest_sha256"))
	if err != nil || len(raw) != 32 {
		return nil, logical.InvalidRequest("manifest_sha256", "manifest_sha256 must be a hex SHA-256 digest")
	}
	var sum [32]byte
	copy(sum[:], raw)
	sig := ed25519.Sign(dev.keys.Signing, audit.ManifestMessage(sum))
	return &logical.Response{Data: map[string]any{
		"signature": base64.StdEncoding.EncodeToString(sig),
		"key_id":    audit.KeyID(dev.keys.Signing.Public().(ed25519.PublicKey)),
	}}, nil
}

func (h *auditHandlers) hash(_ context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	dev, err := h.device(d)
	if err != nil {
		return nil, err
	}
	gen, ok := dev.sink.generation()
	if g, set := d.GetOk("generation"); set {
		n, _ := g.(int)
		if n < 0 {
			return nil, logical.InvalidRequest("generation", "generation must not be negative")
		}
		gen, ok = uint64(n), true
	}
	if !ok {
		return nil, fmt.Errorf("%w: the audit device %q is not open: give a generation", logical.ErrInvalidRequest, dev.entry.Path)
	}
	sum, err := audit.Hash(dev.keys.HMACRoot, gen, d.String("input"))
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"hash": sum, "generation": gen}}, nil
}
