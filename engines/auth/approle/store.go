package approle

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// role reads a role by (case-insensitive) name; nil when absent.
func (b *Backend) role(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	var r roleEntry
	found, err := getJSON(ctx, s, roleKey(strings.ToLower(name)), &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// roleNameByID resolves a role_id to its role name ("" when unknown).
func (b *Backend) roleNameByID(ctx context.Context, s logical.Storage, mac func(string, string) string, roleID string) (string, error) {
	var e roleIDEntry
	found, err := getJSON(ctx, s, roleIDKey(mac("role_id", roleID)), &e)
	if err != nil || !found {
		return "", err
	}
	return e.Name, nil
}

// saveRole writes r and its role_id index, dropping the index of
// previousID when the role_id changed. A role_id another role holds is
// an invalid request. The caller holds the role's write lock.
func (b *Backend) saveRole(ctx context.Context, s logical.Storage, r *roleEntry, previousID string) error {
	mac, err := b.hmacer(ctx, s)
	if err != nil {
		return err
	}
	owner, err := b.roleNameByID(ctx, s, mac, r.RoleID)
	if err != nil {
		return err
	}
	if owner != "" && owner != r.Name {
		return logical.InvalidRequest("role_id", "role_id already in use")
	}
	roleOp, err := putOp(roleKey(r.Name), r)
	if err != nil {
		return err
	}
	idOp, err := putOp(roleIDKey(mac("role_id", r.RoleID)), &roleIDEntry{Name: r.Name})
	if err != nil {
		return err
	}
	ops := []*storage.Op{idOp, roleOp}
	if previousID != "" && previousID != r.RoleID {
		ops = append(ops, deleteOp(roleIDKey(mac("role_id", previousID))))
	}
	return apply(ctx, s, ops...)
}

// secretID reads a role's secret id entry by HMAC; nil when absent.
func (b *Backend) secretID(ctx context.Context, s logical.Storage, role, h string) (*secretIDEntry, error) {
	var e secretIDEntry
	found, err := getJSON(ctx, s, secretIDKey(role, h), &e)
	if err != nil || !found {
		return nil, err
	}
	return &e, nil
}

// saveSecretID rewrites an existing secret id entry. The caller holds
// the secret id's lock.
func (b *Backend) saveSecretID(ctx context.Context, s logical.Storage, role string, e *secretIDEntry) error {
	op, err := putOp(secretIDKey(role, e.HMAC), e)
	if err != nil {
		return err
	}
	return apply(ctx, s, op)
}

// deleteSecretID removes a secret id and its accessor index. The caller
// holds the secret id's lock.
func (b *Backend) deleteSecretID(ctx context.Context, s logical.Storage, mac func(string, string) string, role string, e *secretIDEntry) error {
	return apply(ctx, s, deleteOp(accessorKey(mac("accessor", e.Accessor))), deleteOp(secretIDKey(role, e.HMAC)))
}

// accessor resolves a secret id accessor of role to its secret id HMAC
// ("" when unknown or another role's).
func (b *Backend) accessor(ctx context.Context, s logical.Storage, mac func(string, string) string, role, accessor string) (string, error) {
	var e accessorEntry
	found, err := getJSON(ctx, s, accessorKey(mac("accessor", accessor)), &e)
	if err != nil || !found || e.RoleName != role {
		return "", err
	}
	return e.SecretIDHMAC, nil
}

// listSecretIDs lists the secret id HMACs of role.
func listSecretIDs(ctx context.Context, s logical.Storage, role string) ([]string, error) {
	keys, err := s.List(ctx, secretIDDir(role))
	if err != nil {
		return nil, fmt.Errorf("approle: list secret ids: %w", err)
	}
	out := keys[:0]
	for _, k := range keys {
		if k != "" && !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	return out, nil
}

// deleteRoleSecretIDs removes every secret id of role (role deletion).
// The caller holds the role's write lock.
func (b *Backend) deleteRoleSecretIDs(ctx context.Context, s logical.Storage, mac func(string, string) string, role string) error {
	hs, err := listSecretIDs(ctx, s, role)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if err := b.withSecretLock(h, func() error {
			e, err := b.secretID(ctx, s, role, h)
			if err != nil || e == nil {
				return err
			}
			return b.deleteSecretID(ctx, s, mac, role, e)
		}); err != nil {
			return err
		}
	}
	return nil
}

// withSecretLock runs f holding the lock of secret id HMAC h.
func (b *Backend) withSecretLock(h string, f func() error) error {
	l := b.secretLock(h)
	l.Lock()
	defer l.Unlock()
	return f()
}
