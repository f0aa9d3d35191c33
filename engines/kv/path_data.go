package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Vault's own messages for check-and-set failures, kept verbatim.
const (
	msgCASRequired = "check-and-set parameter required for this call"
	msgCASMismatch = "check-and-set parameter did not match the current version"
	msgNoData      = "no data provided"
)

func (b *Backend) pathData() *framework.Path {
	return &framework.Path{
		Pattern: "data/(?P<path>.*)",
		Fields: map[string]*framework.FieldSchema{
			"path":    {Type: framework.TypeString, Description: "Key path."},
			"version": {Type: framework.TypeInt, Description: "Version to read; 0 or absent is the latest."},
			"data":    {Type: framework.TypeMap, Description: "The secret's key/value pairs."},
			"options": {Type: framework.TypeMap, Description: "Write options: cas."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleDataRead,
			logical.UpdateOperation: b.handleDataWrite,
			logical.PatchOperation:  b.handleDataPatch,
			logical.DeleteOperation: b.handleDataDelete,
		},
		ExistenceCheck: b.keyExists,
		HelpSynopsis:   "Read, write, patch or soft-delete versions of a key.",
	}
}

// keyExists is the existence check of data/ and metadata/: the key has
// metadata.
func (b *Backend) keyExists(ctx context.Context, req *logical.Request, d *framework.FieldData) (bool, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return false, err
	}
	meta, err := loadMetadata(ctx, req.Storage, path)
	return meta != nil, err
}

func (b *Backend) handleDataRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	version := d.Int("version")
	if version < 0 {
		return nil, logical.InvalidRequest("version", "must not be negative")
	}
	lock := b.lockFor(path)
	lock.RLock()
	defer lock.RUnlock()
	meta, err := loadMetadata(ctx, req.Storage, path)
	if err != nil {
		return nil, err
	}
	data, version, err := b.readVersion(ctx, req.Storage, path, meta, version)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"data":     data,
		"metadata": versionResponse(meta, version),
	}}, nil
}

// readVersion returns the data of a readable version (0 = current) and
// the version number it resolved to.
func (b *Backend) readVersion(ctx context.Context, s logical.Storage, path string, meta *keyMetadata, version int) (map[string]any, int, error) {
	if meta == nil {
		return nil, 0, fmt.Errorf("kv: %q: %w", path, logical.ErrNotFound)
	}
	if version == 0 {
		version = meta.CurrentVersion
	}
	vm := meta.version(version)
	if vm == nil {
		return nil, 0, fmt.Errorf("kv: %q version %d: %w", path, version, logical.ErrNotFound)
	}
	if vm.deleted(b.now()) {
		return nil, 0, &VersionDeletedError{Path: path, Version: version, Metadata: versionResponse(meta, version)}
	}
	var data map[string]any
	found, err := getJSON(ctx, s, versionKey(path, version), &data)
	if err != nil {
		return nil, 0, err
	}
	if !found {
		return nil, 0, fmt.Errorf("%w: %q version %d has metadata but no data", ErrCorrupt, path, version)
	}
	return data, version, nil
}

// writeInput is the body of a data write or patch.
type writeInput struct {
	Data    map[string]any `json:"data"`
	Options map[string]any `json:"options"`
}

var optionsSchema = map[string]*framework.FieldSchema{
	"cas": {Type: framework.TypeInt},
}

// casOption parses options.cas; set=false when absent.
func casOption(options map[string]any) (cas int, set bool, err error) {
	d := &framework.FieldData{Raw: options, Schema: optionsSchema}
	if err := d.Validate(); err != nil {
		var ire *logical.InvalidRequestError
		if errors.As(err, &ire) {
			return 0, false, logical.InvalidRequest("options."+ire.Field, "%s", ire.Message)
		}
		return 0, false, err
	}
	if !d.Has("cas") {
		return 0, false, nil
	}
	cas = d.Int("cas")
	if cas < 0 {
		return 0, false, logical.InvalidRequest("options.cas", "must not be negative")
	}
	return cas, true, nil
}

// checkCAS enforces cas_required and the check-and-set match.
func checkCAS(cfg *mountConfig, meta *keyMetadata, options map[string]any) error {
	cas, set, err := casOption(options)
	if err != nil {
		return err
	}
	required := cfg.CASRequired || (meta != nil && meta.CASRequired)
	if required && !set {
		return logical.InvalidRequest("", msgCASRequired)
	}
	current := 0
	if meta != nil {
		current = meta.CurrentVersion
	}
	if set && cas != current {
		return logical.InvalidRequest("", msgCASMismatch)
	}
	return nil
}

func (b *Backend) handleDataWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	var in writeInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.Data == nil {
		return nil, logical.InvalidRequest("data", msgNoData)
	}
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	return b.writeVersion(ctx, req.Storage, path, in, nil)
}

// writeVersion checks cas and stores in.Data (or, with patch, the current
// version's data merged with in.Data) as a new version, trimming old
// ones. The caller holds the key's write lock.
func (b *Backend) writeVersion(ctx context.Context, s logical.Storage, path string, in writeInput, patch func(meta *keyMetadata) (map[string]any, error)) (*logical.Response, error) {
	meta, err := b.commitVersion(ctx, s, path, in, patch)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: versionResponse(meta, meta.CurrentVersion)}, nil
}

// commitVersion is writeVersion's work: it returns the key's metadata as
// stored, whose CurrentVersion is the new version.
func (b *Backend) commitVersion(ctx context.Context, s logical.Storage, path string, in writeInput, patch func(meta *keyMetadata) (map[string]any, error)) (*keyMetadata, error) {
	cfg, err := loadConfig(ctx, s)
	if err != nil {
		return nil, err
	}
	meta, err := loadMetadata(ctx, s, path)
	if err != nil {
		return nil, err
	}
	if err := checkCAS(cfg, meta, in.Options); err != nil {
		return nil, err
	}
	data := in.Data
	if patch != nil {
		if data, err = patch(meta); err != nil {
			return nil, err
		}
	}
	now := b.now()
	if meta == nil {
		meta = &keyMetadata{CreatedTime: now}
	}
	meta.CurrentVersion++
	meta.UpdatedTime = now
	vm := versionMeta{Version: meta.CurrentVersion, CreatedTime: now}
	if dva := deleteAfter(cfg, meta); dva > 0 {
		vm.DeletionTime = now.Add(dva)
	}
	meta.Versions = append(meta.Versions, vm)
	dataOp, err := putOp(versionKey(path, meta.CurrentVersion), data)
	if err != nil {
		return nil, err
	}
	trimmed := trim(path, meta, maxVersions(cfg, meta))
	metaOp := putMetadataOp(path, meta)
	ops := append([]*storage.Op{dataOp, metaOp}, trimmed...)
	if err := commit(ctx, s, ops); err != nil {
		return nil, err
	}
	return meta, nil
}

// handleDataPatch merges the request's data into the current version (RFC
// 7396 JSON merge patch: null deletes a key) and writes the result as a
// new version. The current version must exist and be readable.
func (b *Backend) handleDataPatch(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	var in writeInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.Data == nil {
		return nil, logical.InvalidRequest("data", msgNoData)
	}
	lock := b.lockFor(path)
	lock.Lock()
	defer lock.Unlock()
	return b.writeVersion(ctx, req.Storage, path, in, func(meta *keyMetadata) (map[string]any, error) {
		current, _, err := b.readVersion(ctx, req.Storage, path, meta, 0)
		if err != nil {
			return nil, err
		}
		return mergePatch(current, in.Data), nil
	})
}

// handleDataDelete soft-deletes the current version.
func (b *Backend) handleDataDelete(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	return nil, b.updateVersions(ctx, req.Storage, path, func(meta *keyMetadata) ([]*storage.Op, bool) {
		return nil, b.softDelete(meta, meta.CurrentVersion)
	})
}

// mergePatch applies an RFC 7396 merge patch to target, returning a new
// map (target is not modified).
func mergePatch(target, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target)+len(patch))
	for k, v := range target {
		out[k] = v
	}
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		pm, pIsMap := pv.(map[string]any)
		tm, tIsMap := out[k].(map[string]any)
		switch {
		case pIsMap && tIsMap:
			out[k] = mergePatch(tm, pm)
		case pIsMap:
			out[k] = mergePatch(nil, pm)
		default:
			out[k] = pv
		}
	}
	return out
}
