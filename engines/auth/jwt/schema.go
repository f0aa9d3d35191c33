package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to the mount's view). This is
// the only place key names are spelled.
//
//	config        mountConfig (JSON)
//	role/<name>   role (JSON), listable
const (
	configKey  = "config"
	rolePrefix = "role/"
)

// mountConfig is the config path: where the keys come from and what
// every token must carry.
type mountConfig struct {
	OIDCDiscoveryURL     string   `json:"oidc_discovery_url"`
	OIDCDiscoveryCAPEM   string   `json:"oidc_discovery_ca_pem"`
	JWKSURL              string   `json:"jwks_url"`
	JWKSCAPEM            string   `json:"jwks_ca_pem"`
	JWTValidationPubKeys []string `json:"jwt_validation_pubkeys"`
	JWTSupportedAlgs     []string `json:"jwt_supported_algs"`
	BoundIssuer          string   `json:"bound_issuer"`
	DefaultRole          string   `json:"default_role"`
}

// Role types. Only roleTypeJWT is served.
const (
	roleTypeJWT  = "jwt"
	roleTypeOIDC = "oidc"
)

// bound_claims_type values.
const (
	boundClaimsString = "string"
	boundClaimsGlob   = "glob"
)

// Vault's default leeways (seconds), applied when a leeway is 0; a
// negative leeway means none.
const (
	defaultExpNbfLeeway    = 150 * time.Second
	defaultClockSkewLeeway = 60 * time.Second
)

// role is one role/<name>.
type role struct {
	RoleType         string            `json:"role_type"`
	BoundAudiences   []string          `json:"bound_audiences"`
	BoundSubject     string            `json:"bound_subject"`
	BoundClaimsType  string            `json:"bound_claims_type"`
	BoundClaims      map[string]any    `json:"bound_claims"`
	ClaimMappings    map[string]string `json:"claim_mappings"`
	UserClaim        string            `json:"user_claim"`
	UserClaimPointer bool              `json:"user_claim_json_pointer"`
	GroupsClaim      string            `json:"groups_claim"`
	ExpirationLeeway time.Duration     `json:"expiration_leeway"`
	NotBeforeLeeway  time.Duration     `json:"not_before_leeway"`
	ClockSkewLeeway  time.Duration     `json:"clock_skew_leeway"`
	tokenfields.Params
}

func roleKey(name string) string { return rolePrefix + name }

// loadJSON decodes the entry at key into out (numbers as json.Number, so
// bound claim values compare as they were written); found=false when
// there is none.
func loadJSON(ctx context.Context, s logical.Storage, key string, out any) (raw []byte, found bool, err error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return nil, false, fmt.Errorf("jwt: read %s: %w", key, err)
	}
	if e == nil {
		return nil, false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return nil, false, fmt.Errorf("%w: %s", ErrCorrupt, key)
	}
	return e.Value, true, nil
}

func storeJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jwt: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("jwt: write %s: %w", key, err)
	}
	return nil
}

// loadConfig returns the stored config and its raw bytes (the
// fingerprint of the verifier built from it); nil when unset.
func loadConfig(ctx context.Context, s logical.Storage) (*mountConfig, []byte, error) {
	var c mountConfig
	raw, found, err := loadJSON(ctx, s, configKey, &c)
	if err != nil || !found {
		return nil, nil, err
	}
	return &c, raw, nil
}

// loadRole returns the named role, or nil.
func loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	var r role
	_, found, err := loadJSON(ctx, s, roleKey(name), &r)
	if err != nil || !found {
		return nil, err
	}
	if r.RoleType == "" {
		r.RoleType = roleTypeJWT
	}
	if r.BoundClaimsType == "" {
		r.BoundClaimsType = boundClaimsString
	}
	return &r, nil
}
