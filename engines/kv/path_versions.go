package kv

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// versionsChange mutates a key's metadata and returns extra ops (deletes
// of version data) and whether anything changed.
type versionsChange func(meta *keyMetadata) (ops []*storage.Op, changed bool)

// pathVersions builds delete/, undelete/ and destroy/: each takes a list
// of versions.
func (b *Backend) pathVersions(prefix string, handler framework.OperationHandler) *framework.Path {
	return &framework.Path{
		Pattern: prefix + "/(?P<path>.*)",
		Fields: map[string]*framework.FieldSchema{
			"path":     {Type: framework.TypeString, Description: "Key path."},
			"versions": {Type: framework.TypeIntSlice, Description: "Versions to " + prefix + "."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.UpdateOperation: handler,
		},
		HelpSynopsis: "Apply " + prefix + " to the listed versions of a key.",
	}
}

// versionsArg validates the path and the versions list.
func versionsArg(d *framework.FieldData) (string, []int, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return "", nil, err
	}
	versions := d.IntSlice("versions")
	if len(versions) == 0 {
		return "", nil, logical.InvalidRequest("versions", "no version number provided")
	}
	for _, v := range versions {
		if v <= 0 {
			return "", nil, logical.InvalidRequest("versions", "version numbers must be positive")
		}
	}
	return path, versions, nil
}

// updateVersions applies change to the key's metadata under its write
// lock and commits metadata and ops together. A key without metadata is
// a no-op (Vault answers 204).
func (b *Backend) updateVersions(ctx context.Context, s logical.Storage, path string, change versionsChange) error {
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	meta, err := loadMetadata(ctx, s, path)
	if err != nil || meta == nil {
		return err
	}
	extra, changed := change(meta)
	if !changed {
		return nil
	}
	meta.UpdatedTime = b.now()
	metaOp := putMetadataOp(path, meta)
	return commit(ctx, s, append([]*storage.Op{metaOp}, extra...))
}

// softDelete marks a readable version deleted now.
func (b *Backend) softDelete(meta *keyMetadata, version int) bool {
	vm := meta.version(version)
	now := b.now()
	if vm == nil || vm.deleted(now) {
		return false
	}
	vm.DeletionTime = now
	return true
}

func (b *Backend) handleDeleteVersions(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path, versions, err := versionsArg(d)
	if err != nil {
		return nil, err
	}
	return nil, b.updateVersions(ctx, req.Storage, path, func(meta *keyMetadata) ([]*storage.Op, bool) {
		changed := false
		for _, v := range versions {
			changed = b.softDelete(meta, v) || changed
		}
		return nil, changed
	})
}

// handleUndeleteVersions clears the deletion time of versions that are
// not destroyed (including a pending delete_version_after).
func (b *Backend) handleUndeleteVersions(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path, versions, err := versionsArg(d)
	if err != nil {
		return nil, err
	}
	return nil, b.updateVersions(ctx, req.Storage, path, func(meta *keyMetadata) ([]*storage.Op, bool) {
		changed := false
		for _, v := range versions {
			if vm := meta.version(v); vm != nil && !vm.Destroyed && !vm.DeletionTime.IsZero() {
				vm.DeletionTime = time.Time{}
				changed = true
			}
		}
		return nil, changed
	})
}

// handleDestroyVersions marks versions destroyed and deletes their data.
func (b *Backend) handleDestroyVersions(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path, versions, err := versionsArg(d)
	if err != nil {
		return nil, err
	}
	return nil, b.updateVersions(ctx, req.Storage, path, func(meta *keyMetadata) ([]*storage.Op, bool) {
		var ops []*storage.Op
		for _, v := range versions {
			if vm := meta.version(v); vm != nil && !vm.Destroyed {
				vm.Destroyed = true
				ops = append(ops, deleteOp(versionKey(path, v)))
			}
		}
		return ops, len(ops) > 0
	})
}
