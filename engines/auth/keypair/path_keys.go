package keypair

import (
	"context"
	"fmt"
	"slices"

	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathKeysList() *framework.Path {
	return &framework.Path{
		Pattern: "keys/?",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ListOperation: b.handleKeysList,
		},
		HelpSynopsis: "List the registered key names.",
	}
}

func (b *Backend) pathKey() *framework.Path {
	// token_type and token_explicit_max_ttl are not offered: core mints
	// one kind of token and logical.Auth has no explicit max TTL.
	fields := tokenfields.WithBasic(map[string]*framework.FieldSchema{
		"name": {Type: framework.TypeString, Description: "Name of the key (the login's alias)."},
		"public_key": {
			Type:        framework.TypeString,
			Description: `Ed25519 public key: "ssh-ed25519 AAAA...", a PEM "PUBLIC KEY" block, or 32 raw bytes in base64.`,
		},
	})
	return &framework.Path{
		Pattern: "keys/(?P<name>[^/]+)",
		Fields:  fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleKeyRead,
			logical.UpdateOperation: b.handleKeyWrite,
			logical.DeleteOperation: b.handleKeyDelete,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Register, read or remove a public key and the tokens its logins get.",
	}
}

// keyInput is the body of a keys/:name write.
type keyInput struct {
	Name      string  `json:"name"`
	PublicKey *string `json:"public_key"`
}

func (b *Backend) handleKeysList(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	names, err := req.Storage.List(ctx, keyPrefix)
	if err != nil {
		return nil, fmt.Errorf("keypair: list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no keys", logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": names}}, nil
}

func (b *Backend) keyExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	name := d.String("name")
	if validName(name) != nil {
		return false, nil
	}
	e, err := loadKey(ctx, req.Storage, name)
	return e != nil, err
}

func (b *Backend) handleKeyRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	if err := validName(name); err != nil {
		return nil, err
	}
	e, err := loadKey(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("%w: key %q", logical.ErrNotFound, name)
	}
	data := map[string]any{
		"public_key":  AuthorizedKey(e.PublicKey),
		"fingerprint": Fingerprint(e.PublicKey),
	}
	e.BasicResponseData(data)
	return &logical.Response{Data: data}, nil
}

// handleKeyWrite creates a key (public_key required) or updates the
// fields the request carries.
func (b *Backend) handleKeyWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in keyInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := validName(in.Name); err != nil {
		return nil, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	e, err := loadKey(ctx, req.Storage, in.Name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		if in.PublicKey == nil {
			return nil, logical.InvalidRequest("public_key", "missing required field")
		}
		e = &keyEntry{}
	}
	if in.PublicKey != nil {
		if e.PublicKey, err = ParsePublicKey(*in.PublicKey); err != nil {
			return nil, err
		}
	}
	next := e.Params
	if err := parseTokenParams(&next, d); err != nil {
		return nil, err
	}
	e.Params = next
	return nil, putJSON(ctx, req.Storage, keyPrefix+in.Name, e)
}

func (b *Backend) handleKeyDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	name := d.String("name")
	if err := validName(name); err != nil {
		return nil, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	if err := req.Storage.Delete(ctx, keyPrefix+name); err != nil {
		return nil, fmt.Errorf("keypair: delete key: %w", err)
	}
	return nil, nil
}

// parseTokenParams updates p from the token fields of d; "root" is
// refused in token_policies, since no auth method may issue root tokens.
func parseTokenParams(p *tokenfields.Params, d *framework.FieldData) error {
	if err := p.Parse(d); err != nil {
		return err
	}
	if slices.Contains(p.Policies, "root") {
		return logical.InvalidRequest("token_policies", "an auth method cannot issue root tokens")
	}
	return nil
}
