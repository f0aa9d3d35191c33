package keypair

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"github.com/secretumvault/secretumvault/engines/auth/internal/tokenfields"
	"regexp"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// Storage layout of a mount (keys relative to the mount's view). This is
// the only place key names are spelled.
//
//	config        mountConfig (JSON)
//	key/<name>    keyEntry (JSON), listable
const (
	configKey = "config"
	keyPrefix = "key/"
)

// Defaults and bounds of the config path.
const (
	DefaultNonceTTL  = 60 * time.Second
	DefaultClockSkew = 30 * time.Second
	// maxConfigDuration bounds nonce_ttl and clock_skew.
	maxConfigDuration = time.Hour
)

// nameRE is a valid key name: it cannot hold a newline or a slash, which
// the canonical message and the storage layout rely on.
var nameRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9._@-]{0,62}[a-z0-9])?$`)

// validName checks a key name (field is the field to blame).
func validName(name string) error {
	if !nameRE.MatchString(name) {
		return logical.InvalidRequest("name", "must be 1 to 64 lower-case letters, digits, '.', '_', '@' or '-', starting and ending with a letter or digit")
	}
	return nil
}

// keyEntry is one registered key.
type keyEntry struct {
	PublicKey ed25519.PublicKey `json:"public_key"`
	tokenfields.Params
}

// mountConfig is the config path's settings.
type mountConfig struct {
	NonceTTL  time.Duration `json:"nonce_ttl"`
	ClockSkew time.Duration `json:"clock_skew"`
}

func defaultConfig() mountConfig {
	return mountConfig{NonceTTL: DefaultNonceTTL, ClockSkew: DefaultClockSkew}
}

func (c mountConfig) validate() error {
	if c.NonceTTL <= 0 || c.NonceTTL > maxConfigDuration {
		return logical.InvalidRequest("nonce_ttl", "must be positive and at most %s", maxConfigDuration)
	}
	if c.ClockSkew < 0 || c.ClockSkew > maxConfigDuration {
		return logical.InvalidRequest("clock_skew", "must be between 0 and %s", maxConfigDuration)
	}
	return nil
}

func loadConfig(ctx context.Context, s logical.Storage) (mountConfig, error) {
	cfg := defaultConfig()
	found, err := getJSON(ctx, s, configKey, &cfg)
	if err != nil || !found {
		return cfg, err
	}
	return cfg, nil
}

// loadKey returns the entry of name, or nil when it is not registered.
func loadKey(ctx context.Context, s logical.Storage, name string) (*keyEntry, error) {
	var e keyEntry
	found, err := getJSON(ctx, s, keyPrefix+name, &e)
	if err != nil || !found {
		return nil, err
	}
	if len(e.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: key %q", ErrCorrupt, name)
	}
	return &e, nil
}

func getJSON(ctx context.Context, s logical.Storage, key string, out any) (bool, error) {
	ent, err := s.Get(ctx, key)
	if err != nil {
		return false, fmt.Errorf("keypair: read %s: %w", key, err)
	}
	if ent == nil {
		return false, nil
	}
	if err := json.Unmarshal(ent.Value, out); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("keypair: encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: buf}); err != nil {
		return fmt.Errorf("keypair: write %s: %w", key, err)
	}
	return nil
}
