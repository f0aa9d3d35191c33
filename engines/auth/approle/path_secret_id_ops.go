package approle

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// secretOp acts on one secret id entry (nil when absent) under its lock.
type secretOp func(ctx context.Context, s logical.Storage, mac func(string, string) string, role string, e *secretIDEntry) (*logical.Response, error)

func (b *Backend) pathSecretIDLookup() *framework.Path {
	return b.secretIDOpPath(`/secret-id/lookup/?`, "secret_id", "Read the properties of a secret id.",
		map[logical.Operation]secretOp{logical.UpdateOperation: lookupSecretID})
}

func (b *Backend) pathSecretIDDestroy() *framework.Path {
	return b.secretIDOpPath(`/secret-id/destroy/?`, "secret_id", "Destroy a secret id.",
		map[logical.Operation]secretOp{logical.UpdateOperation: b.destroySecretID, logical.DeleteOperation: b.destroySecretID})
}

func (b *Backend) pathAccessorLookup() *framework.Path {
	return b.secretIDOpPath(`/secret-id-accessor/lookup/?`, "secret_id_accessor", "Read the properties of a secret id by its accessor.",
		map[logical.Operation]secretOp{logical.UpdateOperation: lookupSecretID})
}

func (b *Backend) pathAccessorDestroy() *framework.Path {
	return b.secretIDOpPath(`/secret-id-accessor/destroy/?`, "secret_id_accessor", "Destroy a secret id by its accessor.",
		map[logical.Operation]secretOp{logical.UpdateOperation: b.destroySecretID, logical.DeleteOperation: b.destroySecretID})
}

// secretIDOpPath builds a path taking a secret id or an accessor (field)
// that runs ops on the entry it names.
func (b *Backend) secretIDOpPath(suffix, field, help string, ops map[logical.Operation]secretOp) *framework.Path {
	handlers := make(map[logical.Operation]framework.OperationHandler, len(ops))
	for op, f := range ops {
		handlers[op] = func(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
			return b.onSecretID(ctx, req, d, field, f)
		}
	}
	return &framework.Path{
		Pattern: `role/` + roleNameRe + suffix,
		Fields: map[string]*framework.FieldSchema{
			"role_name": {Type: framework.TypeString},
			field:       {Type: framework.TypeString, Description: "The " + field + "."},
		},
		Operations:   handlers,
		HelpSynopsis: help,
	}
}

// onSecretID resolves the secret id the request names and runs f on it
// under the role's read lock and the secret id's lock. A secret id that
// does not exist reaches f as nil; an unknown accessor is ErrNotFound.
func (b *Backend) onSecretID(ctx context.Context, req *logical.Request, d *framework.FieldData, field string, f secretOp) (*logical.Response, error) {
	value := strings.TrimSpace(d.String(field))
	if value == "" {
		return nil, logical.InvalidRequest(field, "missing %s", field)
	}
	name := strings.ToLower(d.String("role_name"))
	l := b.roleLock(name)
	l.RLock()
	defer l.RUnlock()
	r, err := b.role(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("approle: role %q does not exist: %w", name, logical.ErrNotFound)
	}
	mac, err := b.hmacer(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	h := mac("secret_id", value)
	if field == "secret_id_accessor" {
		if h, err = b.accessor(ctx, req.Storage, mac, name, value); err != nil {
			return nil, err
		}
		if h == "" {
			return nil, fmt.Errorf("approle: failed to find accessor entry for secret_id_accessor: %w", logical.ErrNotFound)
		}
	}
	l2 := b.secretLock(h)
	l2.Lock()
	defer l2.Unlock()
	e, err := b.secretID(ctx, req.Storage, name, h)
	if err != nil {
		return nil, err
	}
	return f(ctx, req.Storage, mac, name, e)
}

func lookupSecretID(_ context.Context, _ logical.Storage, _ func(string, string) string, _ string, e *secretIDEntry) (*logical.Response, error) {
	if e == nil {
		return nil, nil
	}
	return &logical.Response{Data: e.responseData()}, nil
}

func (b *Backend) destroySecretID(ctx context.Context, s logical.Storage, mac func(string, string) string, role string, e *secretIDEntry) (*logical.Response, error) {
	if e == nil {
		return nil, nil
	}
	return nil, b.deleteSecretID(ctx, s, mac, role, e)
}
