package aws

import (
	"context"
	"fmt"
	"net/url"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func (b *Backend) pathConfigRoot() *framework.Path {
	return &framework.Path{
		Pattern: `config/root`,
		Fields: map[string]*framework.FieldSchema{
			"access_key":   {Type: framework.TypeString, Description: "Access key with permission to create new keys."},
			"secret_key":   {Type: framework.TypeString, Description: "Secret key with permission to create new keys; never returned."},
			"region":       {Type: framework.TypeString, Description: "Region for API calls (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)."},
			"iam_endpoint": {Type: framework.TypeString, Description: "Endpoint of a custom IAM server URL."},
			"sts_endpoint": {Type: framework.TypeString, Description: "Endpoint of a custom STS server URL."},
			"max_retries":  {Type: framework.TypeInt, Default: -1, Description: "Maximum number of retries for recoverable errors of AWS APIs (-1: the SDK's default)."},
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRootRead,
			logical.UpdateOperation: b.handleConfigRootWrite,
		},
		HelpSynopsis: "Configure the root credentials that are used to manage IAM.",
	}
}

// rootInput is a config/root write; every field is replaced, as Vault.
type rootInput struct {
	AccessKey   string `json:"access_key"`
	SecretKey   string `json:"secret_key"`
	Region      string `json:"region"`
	IAMEndpoint string `json:"iam_endpoint"`
	STSEndpoint string `json:"sts_endpoint"`
	MaxRetries  int    `json:"max_retries"`
}

// validate checks a config/root write.
func (in *rootInput) validate() error {
	switch {
	case in.AccessKey == "":
		return logical.InvalidRequest("access_key", "missing required field")
	case in.SecretKey == "":
		return logical.InvalidRequest("secret_key", "missing required field")
	case in.MaxRetries < -1:
		return logical.InvalidRequest("max_retries", "must be -1 (the SDK's default) or more")
	}
	for field, v := range map[string]string{"iam_endpoint": in.IAMEndpoint, "sts_endpoint": in.STSEndpoint} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return logical.InvalidRequest(field, "must be an http or https URL")
		}
	}
	return nil
}

func (b *Backend) handleConfigRootRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, err := loadRoot(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fmt.Errorf("aws: %s: %w", rootConfigKey, logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{
		"access_key":   cfg.AccessKey,
		"region":       cfg.Region,
		"iam_endpoint": cfg.IAMEndpoint,
		"sts_endpoint": cfg.STSEndpoint,
		"max_retries":  cfg.MaxRetries,
	}}, nil
}

// handleConfigRootWrite replaces config/root. The key's age
// (LastRotated) restarts when the key changes.
func (b *Backend) handleConfigRootWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in rootInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	b.root.Lock()
	defer b.root.Unlock()
	old, err := loadRoot(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	cfg := rootConfig{
		AccessKey: in.AccessKey, SecretKey: in.SecretKey, Region: in.Region,
		IAMEndpoint: in.IAMEndpoint, STSEndpoint: in.STSEndpoint, MaxRetries: in.MaxRetries,
		LastRotated: b.now().UTC(),
	}
	if old != nil && old.AccessKey == cfg.AccessKey && old.SecretKey == cfg.SecretKey && !old.LastRotated.IsZero() {
		cfg.LastRotated = old.LastRotated
	}
	if err := putJSON(ctx, req.Storage, rootConfigKey, &cfg); err != nil {
		return nil, err
	}
	b.dropClients()
	b.log.InfoContext(ctx, "aws: root credentials configured", "access_key", cfg.AccessKey, "region", cfg.region())
	return nil, nil
}
