package jwt

import (
	"context"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

func configFields() map[string]*framework.FieldSchema {
	s := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeString, Description: desc}
	}
	l := func(desc string) *framework.FieldSchema {
		return &framework.FieldSchema{Type: framework.TypeStringSlice, Description: desc}
	}
	return map[string]*framework.FieldSchema{
		"oidc_discovery_url":     s(`Base URL of the OIDC issuer (without "/.well-known/openid-configuration"). Excludes jwks_url and jwt_validation_pubkeys.`),
		"oidc_discovery_ca_pem":  s("PEM CA certificates trusted for the discovery URL (system roots when empty)."),
		"jwks_url":               s("URL of a JWKS. Excludes oidc_discovery_url and jwt_validation_pubkeys."),
		"jwks_ca_pem":            s("PEM CA certificates trusted for the JWKS URL (system roots when empty)."),
		"jwt_validation_pubkeys": l("PEM public keys that verify signatures locally. Excludes the URLs."),
		"jwt_supported_algs":     l("Accepted signing algorithms (default: every RS, PS, ES and EdDSA algorithm)."),
		"bound_issuer":           s("Value every token's iss claim must equal."),
		"default_role":           s("Role used by logins that name none."),
		"oidc_client_id":         s("Not supported: the browser OIDC flow is not implemented."),
		"oidc_client_secret":     s("Not supported: the browser OIDC flow is not implemented."),
	}
}

// configInput is the decoded form of configFields.
type configInput struct {
	mountConfig
	OIDCClientID     string `json:"oidc_client_id"`
	OIDCClientSecret string `json:"oidc_client_secret"`
}

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields:  configFields(),
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation:   b.handleConfigRead,
			logical.UpdateOperation: b.handleConfigWrite,
		},
		HelpSynopsis: "Where the mount's verification keys come from, and the issuer tokens must carry.",
	}
}

func (b *Backend) handleConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, _, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, fmt.Errorf("jwt: config: %w", logical.ErrNotFound)
	}
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return &logical.Response{Data: map[string]any{
		"oidc_discovery_url":     cfg.OIDCDiscoveryURL,
		"oidc_discovery_ca_pem":  cfg.OIDCDiscoveryCAPEM,
		"jwks_url":               cfg.JWKSURL,
		"jwks_ca_pem":            cfg.JWKSCAPEM,
		"jwt_validation_pubkeys": orEmpty(cfg.JWTValidationPubKeys),
		"jwt_supported_algs":     orEmpty(cfg.JWTSupportedAlgs),
		"bound_issuer":           cfg.BoundIssuer,
		"default_role":           cfg.DefaultRole,
		// The browser flow's settings, as Vault reports them unset.
		"oidc_client_id":      "",
		"oidc_response_mode":  "",
		"oidc_response_types": []string{},
		"provider_config":     map[string]any{},
	}}, nil
}

// handleConfigWrite replaces the config, as Vault does, after checking
// that exactly one key source is set and that it works: the PEM keys
// parse, the JWKS URL serves a key set, the discovery URL serves a
// discovery document of the same issuer whose jwks_uri serves a key set.
func (b *Backend) handleConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	var in configInput
	if err := d.Decode(&in); err != nil {
		return nil, err
	}
	if in.OIDCClientID != "" || in.OIDCClientSecret != "" {
		return nil, logical.InvalidRequest("oidc_client_id", "the OIDC browser flow is not supported; configure a JWT key source and use role_type \"jwt\"")
	}
	cfg := in.mountConfig
	cfg.DefaultRole = strings.ToLower(cfg.DefaultRole)
	if err := checkConfig(ctx, &cfg); err != nil {
		return nil, err
	}
	if err := storeJSON(ctx, req.Storage, configKey, &cfg); err != nil {
		return nil, err
	}
	return nil, nil
}

// checkConfig validates cfg with Vault's messages (400s).
func checkConfig(ctx context.Context, cfg *mountConfig) error {
	n := 0
	for _, set := range []bool{cfg.OIDCDiscoveryURL != "", cfg.JWKSURL != "", len(cfg.JWTValidationPubKeys) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return logical.InvalidRequest("", "exactly one of 'jwt_validation_pubkeys', 'jwks_url', or 'oidc_discovery_url' must be set")
	}
	if _, err := parseAlgs(cfg.JWTSupportedAlgs); err != nil {
		return logical.InvalidRequest("jwt_supported_algs", "invalid jwt_supported_algs: %s", err.Error())
	}
	switch {
	case cfg.OIDCDiscoveryURL != "":
		return checkDiscovery(ctx, cfg)
	case cfg.JWKSURL != "":
		return checkJWKS(ctx, cfg)
	}
	if _, err := newStaticKeys(cfg.JWTValidationPubKeys); err != nil {
		return logical.InvalidRequest("jwt_validation_pubkeys", "error parsing public key: %s", err.Error())
	}
	return nil
}

func checkDiscovery(ctx context.Context, cfg *mountConfig) error {
	if strings.Contains(cfg.OIDCDiscoveryURL, ".well-known/openid-configuration") {
		return logical.InvalidRequest("oidc_discovery_url", "'oidc_discovery_url' contains '.well-known' component")
	}
	client, err := newHTTPClient(cfg.OIDCDiscoveryCAPEM)
	if err != nil {
		return logical.InvalidRequest("oidc_discovery_ca_pem", "%s", err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	jwksURI, err := discover(ctx, client, cfg.OIDCDiscoveryURL)
	if err == nil {
		_, err = fetchJWKS(ctx, client, jwksURI)
	}
	if err != nil {
		return logical.InvalidRequest("oidc_discovery_url", "error checking oidc discovery URL: %s", fetchReason(err))
	}
	return nil
}

func checkJWKS(ctx context.Context, cfg *mountConfig) error {
	client, err := newHTTPClient(cfg.JWKSCAPEM)
	if err != nil {
		return logical.InvalidRequest("jwks_ca_pem", "%s", err.Error())
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if _, err := fetchJWKS(ctx, client, cfg.JWKSURL); err != nil {
		return logical.InvalidRequest("jwks_url", "error checking jwks URL: %s", fetchReason(err))
	}
	return nil
}

// fetchReason is the operator-facing reason of a failed fetch: the
// key-source message without the transport's wrapped detail beyond its
// first line (no bodies are ever included).
func fetchReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), errKeySource.Error()+": ")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return truncate(msg, 200)
}
