package keypair

import (
	"context"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields: map[string]*framework.FieldSchema{
			"nonce_ttl":  {Type: framework.TypeDuration, Description: "How long a nonce is valid (default 60s, at most 1h)."},
			"clock_skew": {Type: framework.TypeDuration, Description: "How far a login's timestamp may be from the server's clock (default 30s, at most 1h)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRead,
			logical.UpdateOperation: b.handleConfigWrite,
		},
		HelpSynopsis: "Nonce lifetime and allowed clock skew of logins.",
	}
}

// configInput is the body of a config write; nil means "not sent".
type configInput struct {
	NonceTTL  *time.Duration `json:"nonce_ttl"`
	ClockSkew *time.Duration `json:"clock_skew"`
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"nonce_ttl":  int64(cfg.NonceTTL / time.Second),
		"clock_skew": int64(cfg.ClockSkew / time.Second),
	}}, nil
}

func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in configInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	setIf(&cfg.NonceTTL, in.NonceTTL)
	setIf(&cfg.ClockSkew, in.ClockSkew)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return nil, putJSON(ctx, req.Storage, configKey, cfg)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
