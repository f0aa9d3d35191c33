package cert

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to the mount's view). This is
// the only place key names are spelled.
//
//	cert/<name>   roleEntry (JSON): one trusted certificate set and its constraints
//	config        mountConfig (JSON)
const (
	certPrefix = "cert/"
	configKey  = "config"
)

// certKey is the storage key of role name (names are case-insensitive,
// stored lower-case, as in Vault).
func certKey(name string) string { return certPrefix + strings.ToLower(name) }

// roleEntry is one trusted certificate set ("certs/<name>").
type roleEntry struct {
	Name string `json:"name"`
	// Certificate is the PEM as written: CA certificates (a chain must end
	// at one of them) and/or pinned leaf certificates (presented exactly).
	Certificate                string   `json:"certificate"`
	DisplayName                string   `json:"display_name"`
	AllowedNames               []string `json:"allowed_names,omitempty"`
	AllowedCommonNames         []string `json:"allowed_common_names,omitempty"`
	AllowedDNSSANs             []string `json:"allowed_dns_sans,omitempty"`
	AllowedEmailSANs           []string `json:"allowed_email_sans,omitempty"`
	AllowedURISANs             []string `json:"allowed_uri_sans,omitempty"`
	AllowedOrganizationalUnits []string `json:"allowed_organizational_units,omitempty"`
	RequiredExtensions         []string `json:"required_extensions,omitempty"`
	tokenfields.Params
}

// mountConfig is the config path's state.
type mountConfig struct {
	// DisableAliasMetadata is enable_identity_alias_metadata negated, so
	// that the zero value (no config written) means "enabled".
	DisableAliasMetadata bool `json:"disable_alias_metadata,omitempty"`
}

// getJSON decodes the entry at key into out; found=false when absent.
func getJSON(ctx context.Context, s logical.Storage, key string, out any) (found bool, err error) {
	e, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("cert: read %s: %w", key, err)
	}
	if e == nil {
		return false, nil
	}
	if err := json.Unmarshal(e.Value, out); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return true, nil
}

// putJSON stores v at key.
func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cert: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("cert: write %s: %w", key, err)
	}
	return nil
}

// loadRole returns role name, or nil when it does not exist.
func loadRole(ctx context.Context, s logical.Storage, name string) (*roleEntry, error) {
	var r roleEntry
	found, err := getJSON(ctx, s, certKey(name), &r)
	if err != nil || !found {
		return nil, err
	}
	return &r, nil
}

// roleNames lists the stored roles in name order.
func roleNames(ctx context.Context, s logical.Storage) ([]string, error) {
	keys, err := s.List(ctx, certPrefix)
	if err != nil {
		return nil, fmt.Errorf("cert: list roles: %w", err)
	}
	out := keys[:0]
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			out = append(out, k)
		}
	}
	return out, nil
}

// loadConfig returns the mount's config (the zero value when unset).
func loadConfig(ctx context.Context, s logical.Storage) (*mountConfig, error) {
	var c mountConfig
	if _, err := getJSON(ctx, s, configKey, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
