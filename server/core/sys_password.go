package core

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/engines/passwordpolicy"
	"github.com/secretumvault/secretumvault/storage"
)

// passwordPaths are Vault's password policy endpoints:
// sys/policies/password/:name (write, read, delete; LIST the names) and
// sys/policies/password/:name/generate.
func (c sysHandlers) passwordPaths() []*framework.Path {
	h := &passwordHandlers{c: c.Core}
	fields := map[string]*framework.FieldSchema{
		"name":   {Type: framework.TypeString, Description: "The policy's name."},
		"policy": {Type: framework.TypeString, Description: "The policy: Vault's password policy HCL or JSON, optionally base64-encoded."},
	}
	return []*framework.Path{
		{Pattern: "policies/password/?", Operations: listOp(h.list), HelpSynopsis: "List the password policies."},
		{Pattern: "policies/password/(?P<name>.+)/generate", Fields: fields, Operations: readOp(h.generate), HelpSynopsis: "Generate a password from a policy."},
		{Pattern: "policies/password/(?P<name>.+)", Fields: fields, Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: h.read, logical.UpdateOperation: h.write, logical.DeleteOperation: h.remove,
		}, HelpSynopsis: "Write, read or delete a password policy."},
	}
}

// passwordHandlers serve the password policies, stored behind the
// barrier at passwordPolicyPrefix<name> as the text given.
type passwordHandlers struct{ c *Core }

func (h *passwordHandlers) view() (storage.Backend, error) {
	if _, err := h.c.state(); err != nil {
		return nil, err
	}
	return storage.NewView(h.c.barrier, passwordPolicyPrefix), nil
}

func (h *passwordHandlers) list(ctx context.Context, _ *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	keys, err := v.List(ctx, "")
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no password policies", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (h *passwordHandlers) write(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name, err := passwordPolicyName(d)
	if err != nil {
		return nil, err
	}
	text := d.String("policy")
	if text == "" {
		return nil, logical.InvalidRequest("policy", "missing policy")
	}
	if raw, err := base64.StdEncoding.DecodeString(text); err == nil {
		text = string(raw) // Vault accepts the policy base64-encoded
	}
	if _, err := passwordpolicy.Parse(text); err != nil {
		return nil, logical.InvalidRequest("policy", "%v", err)
	}
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	return nil, v.Put(ctx, &storage.Entry{Key: name, Value: []byte(text)})
}

func (h *passwordHandlers) read(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	text, err := h.load(ctx, d)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"policy": text}}, nil
}

func (h *passwordHandlers) remove(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name, err := passwordPolicyName(d)
	if err != nil {
		return nil, err
	}
	v, err := h.view()
	if err != nil {
		return nil, err
	}
	return nil, v.Delete(ctx, name)
}

func (h *passwordHandlers) generate(ctx context.Context, _ *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name, err := passwordPolicyName(d)
	if err != nil {
		return nil, err
	}
	pw, err := h.c.generatePassword(ctx, name)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"password": pw}}, nil
}

// load reads the named policy's text.
func (h *passwordHandlers) load(ctx context.Context, d *framework.FieldData) (string, error) {
	name, err := passwordPolicyName(d)
	if err != nil {
		return "", err
	}
	return h.c.passwordPolicyText(ctx, name)
}

func passwordPolicyName(d *framework.FieldData) (string, error) {
	name := strings.Trim(d.String("name"), "/")
	if name == "" || strings.Contains(name, "/") || len(name) > 128 {
		return "", logical.InvalidRequest("name", "a password policy name is 1-128 characters without \"/\"")
	}
	return name, nil
}

// passwordPolicyText reads a stored password policy.
func (c *Core) passwordPolicyText(ctx context.Context, name string) (string, error) {
	e, err := storage.NewView(c.barrier, passwordPolicyPrefix).Get(ctx, name)
	if err != nil {
		return "", err
	}
	if e == nil {
		return "", fmt.Errorf("%w: no password policy named %q", logical.ErrNotFound, name)
	}
	return string(e.Value), nil
}

// generatePassword generates a password from the named policy ("": the
// default policy).
func (c *Core) generatePassword(ctx context.Context, name string) (string, error) {
	p := passwordpolicy.Default()
	if name != "" {
		text, err := c.passwordPolicyText(ctx, name)
		if err != nil {
			return "", err
		}
		if p, err = passwordpolicy.Parse(text); err != nil {
			return "", fmt.Errorf("core: stored password policy %q: %w", name, err)
		}
	}
	return p.Generate(ctx, nil)
}

// mountSystem is a mount's logical.SystemView.
type mountSystem struct {
	c    *Core
	kind mountKind
	path string // the mount's path in its table
}

var _ logical.SystemView = mountSystem{}

// GeneratePassword implements logical.SystemView.
func (m mountSystem) GeneratePassword(ctx context.Context, policy string) (string, error) {
	return m.c.generatePassword(ctx, policy)
}

// MountTTLs implements logical.SystemView: the mount's tuned TTLs with
// the system defaults (768h) where unset.
func (m mountSystem) MountTTLs() (def, max time.Duration) {
	if st := m.c.active.Load(); st != nil {
		if e := st.table(m.kind).find(m.path); e != nil {
			return effectiveTTLs(e.Config)
		}
	}
	return effectiveTTLs(mountConfig{})
}

// RecordEvent implements logical.EventRecorder: an engine's own action
// (a scheduled rotation) gets an audit entry pair.
func (m mountSystem) RecordEvent(ctx context.Context, op logical.Operation, path string, err error) {
	m.c.auditEvent(ctx, op, path, err)
}
