package approle

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathTidy() *framework.Path {
	return &framework.Path{
		Pattern:      `tidy/secret-id`,
		Operations:   map[logical.Operation]framework.OperationHandler{logical.UpdateOperation: b.handleTidy},
		HelpSynopsis: "Remove expired secret ids and dangling accessors.",
	}
}

// handleTidy removes expired secret ids, the secret ids of deleted roles
// and accessors whose secret id is gone. Unlike Vault, which answers 202
// and tidies in the background, it tidies before answering and reports
// the counts.
func (b *Backend) handleTidy(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	mac, err := b.hmacer(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	roles, err := req.Storage.List(ctx, secretIDPrefix)
	if err != nil {
		return nil, fmt.Errorf("approle: tidy: list: %w", err)
	}
	secrets := 0
	for _, dir := range roles {
		n, err := b.tidyRole(ctx, req.Storage, mac, strings.TrimSuffix(dir, "/"))
		if err != nil {
			return nil, err
		}
		secrets += n
	}
	accessors, err := b.tidyAccessors(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{
		Data:     map[string]any{"secret_ids_deleted": secrets, "accessors_deleted": accessors},
		Warnings: []string{"Tidy operation completed."},
	}, nil
}

// tidyRole removes role's expired secret ids, or all of them when the
// role no longer exists, and returns how many it removed.
func (b *Backend) tidyRole(ctx context.Context, s logical.Storage, mac func(string, string) string, role string) (int, error) {
	l := b.roleLock(role)
	l.Lock()
	defer l.Unlock()
	r, err := b.role(ctx, s, role)
	if err != nil {
		return 0, err
	}
	hs, err := listSecretIDs(ctx, s, role)
	if err != nil {
		return 0, err
	}
	now, n := b.now(), 0
	for _, h := range hs {
		err := b.withSecretLock(h, func() error {
			e, err := b.secretID(ctx, s, role, h)
			if err != nil || e == nil || (r != nil && !e.expired(now)) {
				return err
			}
			n++
			return b.deleteSecretID(ctx, s, mac, role, e)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// tidyAccessors removes accessor entries whose secret id is gone.
func (b *Backend) tidyAccessors(ctx context.Context, s logical.Storage) (int, error) {
	keys, err := s.List(ctx, accessorPrefix)
	if err != nil {
		return 0, fmt.Errorf("approle: tidy: list accessors: %w", err)
	}
	n := 0
	for _, k := range keys {
		var a accessorEntry
		found, err := getJSON(ctx, s, accessorKey(k), &a)
		if err != nil || !found {
			if err != nil {
				return n, err
			}
			continue
		}
		err = b.withSecretLock(a.SecretIDHMAC, func() error {
			e, err := b.secretID(ctx, s, a.RoleName, a.SecretIDHMAC)
			if err != nil || e != nil {
				return err
			}
			n++
			return apply(ctx, s, deleteOp(accessorKey(k)))
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
