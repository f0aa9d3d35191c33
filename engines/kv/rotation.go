package kv

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// This file makes the Backend a logical.Rotator, for rotation policies.
//
// Targets are "data/<path>", one per key whose current version is
// readable (a key with only metadata, or whose current version is
// soft-deleted or destroyed, is not a target: rotating it would undo a
// deletion). A rotation writes a new version in which every key of the
// current version has a new string value (a number or object value is
// replaced by a string too), made as the key's custom_metadata
// says (rotation_spec.go), through the same write path as data/ (so
// max_versions and delete_version_after apply; custom_metadata is kept).

// rotationGuardPrefix is the API path of a target (relative to the mount).
const rotationGuardPrefix = "data/"

// RotationTargets implements logical.Rotator: a target per readable key,
// aged from its current version's created_time (a write resets it),
// tagged with its custom_metadata, sorted by Path. It reads each key's
// metadata once and no version's data.
func (b *Backend) RotationTargets(ctx context.Context, s logical.Storage) ([]logical.RotationTarget, error) {
	now := b.now()
	var out []logical.RotationTarget
	err := walkMetadata(ctx, s, func(path string, meta *keyMetadata) {
		vm := meta.version(meta.CurrentVersion)
		if vm == nil || vm.deleted(now) {
			return
		}
		out = append(out, logical.RotationTarget{
			Path:        rotationGuardPrefix + path,
			LastRotated: vm.CreatedTime,
			Tags:        meta.CustomMetadata,
			Guards:      []string{rotationGuardPrefix + path},
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b logical.RotationTarget) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// walkMetadata calls fn for every key with metadata.
func walkMetadata(ctx context.Context, s logical.Storage, fn func(path string, meta *keyMetadata)) error {
	dirs := []string{""}
	for len(dirs) > 0 {
		dir := dirs[len(dirs)-1]
		dirs = dirs[:len(dirs)-1]
		names, err := s.List(ctx, metadataKey(dir))
		if err != nil {
			return fmt.Errorf("kv: list %s: %w", metadataKey(dir), err)
		}
		for _, name := range names {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("kv: rotation targets: %w", err)
			}
			if strings.HasSuffix(name, "/") {
				dirs = append(dirs, dir+name)
				continue
			}
			meta, err := loadMetadata(ctx, s, dir+name)
			if err != nil {
				return err
			}
			if meta != nil { // nil: deleted since the list
				fn(dir+name, meta)
			}
		}
	}
	return nil
}

// Rotate implements logical.Rotator for "data/<path>": it writes a new
// version with a new value for every key of the current one and returns
// the new version number. The new values are made without holding the
// key's lock (a webhook may take seconds); the write then checks and
// sets against the version read, so a write in between fails the
// rotation (msgCASMismatch) instead of being overwritten.
//
// Errors: not a key, or no readable current version (soft-deleted or
// destroyed: undelete it or write a new version first), match
// logical.ErrNotFound; no spec in custom_metadata is ErrNoRotationSpec;
// a bad one ErrBadRotationSpec; a failed webhook ErrWebhook.
func (b *Backend) Rotate(ctx context.Context, s logical.Storage, target string) (logical.RotationResult, error) {
	path, err := targetKey(target)
	if err != nil {
		return logical.RotationResult{}, err
	}
	meta, keys, err := b.currentKeys(ctx, s, path)
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("kv: rotate %q: %w", path, err)
	}
	gen, err := b.rotationGenerator(meta.CustomMetadata)
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("kv: rotate %q: %w", path, err)
	}
	version := meta.CurrentVersion
	data, err := gen.generate(ctx, rotationRequest{Path: path, Mount: b.mount, Version: version, Keys: keys})
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("kv: rotate %q: %w", path, err)
	}
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	in := writeInput{Data: data, Options: map[string]any{"cas": version}}
	stored, err := b.commitVersion(ctx, s, path, in, func(cur *keyMetadata) (map[string]any, error) {
		if vm := cur.version(version); vm == nil || vm.deleted(b.now()) {
			return nil, fmt.Errorf("version %d was deleted meanwhile: %w", version, logical.ErrNotFound)
		}
		return data, nil
	})
	if err != nil {
		return logical.RotationResult{}, fmt.Errorf("kv: rotate %q: %w", path, err)
	}
	return logical.RotationResult{
		Version:   strconv.Itoa(stored.CurrentVersion),
		RotatedAt: stored.version(stored.CurrentVersion).CreatedTime,
	}, nil
}

// currentKeys reads the key's metadata and the names of its current
// version's keys (sorted), under the key's read lock.
func (b *Backend) currentKeys(ctx context.Context, s logical.Storage, path string) (*keyMetadata, []string, error) {
	lock := b.lockFor(path)
	lock.RLock()
	defer lock.RUnlock()
	meta, err := loadMetadata(ctx, s, path)
	if err != nil {
		return nil, nil, err
	}
	data, _, err := b.readVersion(ctx, s, path, meta, 0)
	if err != nil {
		return nil, nil, err
	}
	if len(data) == 0 {
		return nil, nil, ErrNothingToRotate
	}
	return meta, slices.Sorted(maps.Keys(data)), nil
}

// Verify implements logical.Rotator: a KV secret is used outside the
// server, which cannot check it (logical.ErrUnsupportedOperation).
func (b *Backend) Verify(_ context.Context, _ logical.Storage, target string) error {
	return fmt.Errorf("kv: verify %q: %w", target, logical.ErrUnsupportedOperation)
}

// targetKey is the key of a target path "data/<path>"; anything else
// matches logical.ErrNotFound.
func targetKey(target string) (string, error) {
	path, ok := strings.CutPrefix(target, rotationGuardPrefix)
	if !ok || validatePath(path) != nil {
		return "", fmt.Errorf("kv: %q is not a rotation target: %w", target, logical.ErrNotFound)
	}
	return path, nil
}
