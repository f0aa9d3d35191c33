package aws

import (
	"context"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// RotationTargets implements logical.Rotator: the root key at
// config/root, once configured, aged from its last write or rotation.
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	cfg, err := loadRoot(ctx, s)
	if err != nil {
		return nil, err
	}
	if cfg == nil || cfg.AccessKey == "" {
		return nil, nil
	}
	return []logical.RotationTarget{{Path: rootConfigKey, LastRotated: cfg.LastRotated, Verifiable: true}}, nil
}

// Rotate implements logical.Rotator: config/root is rotated as
// config/rotate-root does; the result's Version is the new access key
// id (not a secret).
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, path string) (logical.RotationResult, error) {
	if path != rootConfigKey {
		return logical.RotationResult{}, fmt.Errorf("aws: %q is no rotation target: %w", path, logical.ErrNotFound)
	}
	id, at, err := b.rotateRoot(ctx, s)
	if err != nil {
		return logical.RotationResult{}, err
	}
	return logical.RotationResult{Version: id, RotatedAt: at}, nil
}

// Verify implements logical.Rotator: the root key must still sign an STS
// GetCallerIdentity; AWS refusing it is logical.ErrDrift.
func (b *Backend) Verify(ctx context.Context, s logical.Storage, path string) error {
	if path != rootConfigKey {
		return fmt.Errorf("aws: %q is no rotation target: %w", path, logical.ErrNotFound)
	}
	return b.verifyRoot(ctx, s)
}
