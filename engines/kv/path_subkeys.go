package kv

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// pathSubkeys is subkeys/<path>: a version's key structure with every
// leaf value replaced by null, so a client can see what a secret holds
// without reading it.
func (b *Backend) pathSubkeys() *framework.Path {
	return &framework.Path{
		Pattern: "subkeys/(?P<path>.*)",
		Fields: map[string]*framework.FieldSchema{
			"path":    {Type: framework.TypeString, Description: "Key path."},
			"version": {Type: framework.TypeInt, Description: "Version to read; 0 or absent is the latest."},
			"depth":   {Type: framework.TypeInt, Description: "Levels of nesting to return; 0 means all."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: b.handleSubkeysRead,
		},
		HelpSynopsis: "Read the structure of a version's data without its values.",
	}
}

func (b *Backend) handleSubkeysRead(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	path := d.String("path")
	if err := validatePath(path); err != nil {
		return nil, err
	}
	version, depth := d.Int("version"), d.Int("depth")
	if version < 0 {
		return nil, logical.InvalidRequest("version", "must not be negative")
	}
	if depth < 0 {
		return nil, logical.InvalidRequest("depth", "must not be negative")
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
		"subkeys":  subkeys(data, depth, 1),
		"metadata": versionResponse(meta, version),
	}}, nil
}

// subkeys replaces leaves with nil, descending into objects until depth
// (0 = unlimited).
func subkeys(data map[string]any, depth, level int) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		if m, ok := v.(map[string]any); ok && (depth == 0 || level < depth) {
			out[k] = subkeys(m, depth, level+1)
			continue
		}
		out[k] = nil
	}
	return out
}
