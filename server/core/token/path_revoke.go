package token

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// handleRevoke revokes the token in the "token" field and its children.
// Revoking an unknown token succeeds, as in Vault.
func (s *Store) handleRevoke(ctx context.Context, _ *logical.Request, d *framework.FieldData, _ *Entry) (*logical.Response, error) {
	raw, err := requiredToken(d)
	if err != nil {
		return nil, err
	}
	return nil, s.Revoke(ctx, raw)
}

// handleRevokeSelf revokes the caller's token and its children.
func (s *Store) handleRevokeSelf(ctx context.Context, _ *logical.Request, _ *framework.FieldData, caller *Entry) (*logical.Response, error) {
	_, err := s.revokeTree(ctx, caller.id)
	return nil, err
}

// handleRevokeAccessor revokes the token behind "accessor"; an unknown
// accessor answers with Vault's warning rather than an error.
func (s *Store) handleRevokeAccessor(ctx context.Context, _ *logical.Request, d *framework.FieldData, _ *Entry) (*logical.Response, error) {
	accessor, err := requiredAccessor(d)
	if err != nil {
		return nil, err
	}
	found, err := s.RevokeAccessor(ctx, accessor)
	if err != nil {
		return nil, err
	}
	if !found {
		return &logical.Response{Warnings: []string{"No token found with this accessor"}}, nil
	}
	return nil, nil
}

// handleRevokeOrphan revokes the token in "token" but keeps its children,
// which become orphans. Root or sudo only.
func (s *Store) handleRevokeOrphan(ctx context.Context, _ *logical.Request, d *framework.FieldData, caller *Entry) (*logical.Response, error) {
	raw, err := requiredToken(d)
	if err != nil {
		return nil, err
	}
	if !privileged(ctx, caller) {
		return nil, badRequest("root or sudo privileges required to revoke and orphan")
	}
	h, err := s.hash(raw)
	if err != nil {
		return nil, err
	}
	e, err := s.loadLive(ctx, h)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, badRequest("token to revoke not found")
	}
	return nil, s.revokeOrphan(ctx, h)
}

// handleTidy runs Tidy synchronously and reports how many tokens it removed.
func (s *Store) handleTidy(ctx context.Context, _ *logical.Request, _ *framework.FieldData, _ *Entry) (*logical.Response, error) {
	n, err := s.Tidy(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{
		Data:     map[string]any{"removed": n},
		Warnings: []string{fmt.Sprintf("Tidy operation completed: %d tokens removed", n)},
	}, nil
}
