package kv

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// limitFields are the per-mount and per-key settings config and metadata
// share.
func limitFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		"max_versions": {
			Type:        framework.TypeInt,
			Description: "Versions kept per key; 0 means the default (10 for the mount, the mount's for a key).",
		},
		"cas_required": {
			Type:        framework.TypeBool,
			Description: "Require the cas option on every data write.",
		},
		"delete_version_after": {
			Type:        framework.TypeDuration,
			Description: "Soft-delete versions this long after they are written; 0 disables.",
		},
	}
}

// limitsInput is the decoded form of limitFields; nil means "not sent".
type limitsInput struct {
	MaxVersions        *int           `json:"max_versions"`
	CASRequired        *bool          `json:"cas_required"`
	DeleteVersionAfter *time.Duration `json:"delete_version_after"`
}

func (in *limitsInput) validate() error {
	if in.MaxVersions != nil && *in.MaxVersions < 0 {
		return logical.InvalidRequest("max_versions", "must not be negative")
	}
	if in.DeleteVersionAfter != nil && *in.DeleteVersionAfter < 0 {
		return logical.InvalidRequest("delete_version_after", "must not be negative")
	}
	return nil
}

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields:  limitFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRead,
			logical.UpdateOperation: b.handleConfigWrite,
		},
		HelpSynopsis: "Mount-wide defaults for max_versions, cas_required and delete_version_after.",
	}
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"max_versions":         maxVersions(cfg, nil),
		"cas_required":         cfg.CASRequired,
		"delete_version_after": cfg.DeleteVersionAfter.String(),
	}}, nil
}

// handleConfigWrite updates the fields the request carries.
func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in limitsInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	// Config writes are rare; one stripe is as good as a dedicated lock.
	lock := b.lockFor(configKey)
	lock.Lock()
	defer lock.Unlock()
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if in.MaxVersions != nil {
		cfg.MaxVersions = *in.MaxVersions
	}
	if in.CASRequired != nil {
		cfg.CASRequired = *in.CASRequired
	}
	if in.DeleteVersionAfter != nil {
		cfg.DeleteVersionAfter = *in.DeleteVersionAfter
	}
	op, err := putOp(configKey, cfg)
	if err != nil {
		return nil, err
	}
	return nil, commit(ctx, req.Storage, []*storage.Op{op})
}
