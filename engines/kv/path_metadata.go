package kv

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Vault's limits on custom_metadata.
const (
	maxCustomMetadataKeys      = 64
	maxCustomMetadataKeyLen    = 128
	maxCustomMetadataValueLen  = 512
	customMetadataField        = "custom_metadata"
	customMetadataNullMsg      = "values must be strings (null deletes a key only in a patch)"
	customMetadataNotStringMsg = "values must be strings"
)

func (b *Backend) pathMetadata() *framework.Path {
	fields := limitFields()
	fields["path"] = &framework.FieldSchema{Type: framework.TypeString, Description: "Key path or list prefix."}
	// TypeMap, not TypeStringMap: a patch may carry null to delete a key.
	fields[customMetadataField] = &framework.FieldSchema{Type: framework.TypeMap, Description: "User-defined string pairs."}
	return &framework.Path{
		Pattern: "metadata(?:/(?P<path>.*))?",
		Fields:  fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleMetadataRead,
			logical.UpdateOperation: b.handleMetadataWrite,
			logical.PatchOperation:  b.handleMetadataPatch,
			logical.DeleteOperation: b.handleMetadataDelete,
			logical.ListOperation:   b.handleMetadataList,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Read, configure, delete or list keys' metadata.",
	}
}

func (b *Backend) handleMetadataRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	meta, err := loadMetadata(ctx, req.Storage, path)
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, fmt.Errorf("kv: metadata of %q: %w", path, logical.ErrNotFound)
	}
	versions := make(map[string]any, len(meta.Versions))
	for _, vm := range meta.Versions {
		versions[strconv.Itoa(vm.Version)] = map[string]any{
			"created_time":  formatTime(vm.CreatedTime),
			"deletion_time": formatTime(vm.DeletionTime),
			"destroyed":     vm.Destroyed,
		}
	}
	return &logical.Response{Data: map[string]any{
		"cas_required":         meta.CASRequired,
		"created_time":         formatTime(meta.CreatedTime),
		"current_version":      meta.CurrentVersion,
		"custom_metadata":      meta.CustomMetadata,
		"delete_version_after": meta.DeleteVersionAfter.String(),
		"max_versions":         maxVersions(cfg, meta),
		"oldest_version":       meta.OldestVersion,
		"updated_time":         formatTime(meta.UpdatedTime),
		"versions":             versions,
	}}, nil
}

// metadataInput is the body of a metadata write or patch.
type metadataInput struct {
	limitsInput
	CustomMetadata map[string]any `json:"custom_metadata"`
}

func (b *Backend) handleMetadataWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return b.updateMetadata(ctx, req, d, false)
}

func (b *Backend) handleMetadataPatch(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	return b.updateMetadata(ctx, req, d, true)
}

// updateMetadata sets the fields the request carries. A write replaces
// custom_metadata; a patch merges it (null deletes a key) and requires the
// key to exist, as Vault's does. A write creates the key's metadata.
func (b *Backend) updateMetadata(ctx context.Context, req *logical.Request, d *framework.FieldData, patch bool) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	var in metadataInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	meta, err := loadMetadata(ctx, req.Storage, path)
	if err != nil {
		return nil, err
	}
	now := b.now()
	if meta == nil {
		if patch {
			return nil, fmt.Errorf("kv: metadata of %q: %w", path, logical.ErrNotFound)
		}
		meta = &keyMetadata{CreatedTime: now}
	}
	if err := applyMetadata(meta, &in, patch); err != nil {
		return nil, err
	}
	meta.UpdatedTime = now
	trimmed := trim(path, meta, maxVersions(cfg, meta))
	metaOp := putMetadataOp(path, meta)
	return nil, commit(ctx, req.Storage, append([]*storage.Op{metaOp}, trimmed...))
}

func applyMetadata(meta *keyMetadata, in *metadataInput, patch bool) error {
	if in.MaxVersions != nil {
		meta.MaxVersions = *in.MaxVersions
	}
	if in.CASRequired != nil {
		meta.CASRequired = *in.CASRequired
	}
	if in.DeleteVersionAfter != nil {
		meta.DeleteVersionAfter = *in.DeleteVersionAfter
	}
	if in.CustomMetadata == nil {
		return nil
	}
	var cm map[string]string
	if patch {
		cm = maps.Clone(meta.CustomMetadata)
	}
	if cm == nil {
		cm = make(map[string]string, len(in.CustomMetadata))
	}
	for k, v := range in.CustomMetadata {
		switch s := v.(type) {
		case string:
			cm[k] = s
		case nil:
			if !patch {
				return logical.InvalidRequest(customMetadataField, customMetadataNullMsg)
			}
			delete(cm, k)
		default:
			return logical.InvalidRequest(customMetadataField, customMetadataNotStringMsg)
		}
	}
	if err := validateCustomMetadata(cm); err != nil {
		return err
	}
	meta.CustomMetadata = cm
	if len(cm) == 0 {
		meta.CustomMetadata = nil
	}
	return nil
}

func validateCustomMetadata(cm map[string]string) error {
	if len(cm) > maxCustomMetadataKeys {
		return logical.InvalidRequest(customMetadataField, "at most %d keys allowed, got %d", maxCustomMetadataKeys, len(cm))
	}
	for k, v := range cm {
		switch {
		case k == "":
			return logical.InvalidRequest(customMetadataField, "keys must not be empty")
		case len(k) > maxCustomMetadataKeyLen:
			return logical.InvalidRequest(customMetadataField, "keys must be at most %d bytes", maxCustomMetadataKeyLen)
		case len(v) > maxCustomMetadataValueLen:
			return logical.InvalidRequest(customMetadataField, "values must be at most %d bytes", maxCustomMetadataValueLen)
		}
	}
	return nil
}

// handleMetadataDelete removes the key: its metadata first, then every
// version's data, in one transaction.
func (b *Backend) handleMetadataDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	meta, err := loadMetadata(ctx, req.Storage, path)
	if err != nil || meta == nil {
		return nil, err
	}
	ops := make([]*storage.Op, 0, len(meta.Versions)+1)
	ops = append(ops, deleteOp(metadataKey(path)))
	for _, vm := range meta.Versions {
		if !vm.Destroyed {
			ops = append(ops, deleteOp(versionKey(path, vm.Version)))
		}
	}
	return nil, commit(ctx, req.Storage, ops)
}

// handleMetadataList lists the keys and "dir/" entries under a prefix.
func (b *Backend) handleMetadataList(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	prefix := d.String("path")
	if prefix != "" {
		if err := validatePath(strings.TrimSuffix(prefix, "/")); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
	}
	keys, err := req.Storage.List(ctx, metadataKey(prefix))
	if err != nil {
		return nil, fmt.Errorf("kv: list %q: %w", prefix, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("kv: list %q: %w", prefix, logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}
