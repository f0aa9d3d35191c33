package cert

import (
	"context"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields: map[string]*framework.FieldSchema{
			"disable_binding": {Type: framework.TypeBool,
				Description: "Always true here: core renews tokens without the certificate; false is refused."},
			"enable_identity_alias_metadata": {Type: framework.TypeBool,
				Description: "Store the certificate metadata on the entity alias (default true, unlike Vault's false)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRead,
			logical.UpdateOperation: b.handleConfigWrite,
		},
		HelpSynopsis: "Mount-wide settings of the cert auth method.",
	}
}

type configInput struct {
	DisableBinding              *bool `json:"disable_binding"`
	EnableIdentityAliasMetadata *bool `json:"enable_identity_alias_metadata"`
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"disable_binding":                true,
		"enable_identity_alias_metadata": !c.DisableAliasMetadata,
	}}, nil
}

func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in configInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.DisableBinding != nil && !*in.DisableBinding {
		return nil, logical.InvalidRequest("disable_binding", "renewal binding is not supported: tokens are renewed by core without the client certificate")
	}
	c, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if in.EnableIdentityAliasMetadata != nil {
		c.DisableAliasMetadata = !*in.EnableIdentityAliasMetadata
	}
	return nil, putJSON(ctx, req.Storage, configKey, c)
}
