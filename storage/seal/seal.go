// Package seal protects the barrier's root key with Shamir's secret sharing.
//
// Init makes a random root key and splits it into Config.SecretShares
// unseal keys, any Config.SecretThreshold of which rebuild it. The root key
// itself is never stored: the caller hands it to barrier.Initialize once and
// gives the shares to the operators. To unseal, an Unsealer collects shares
// one at a time (as sys/unseal does) and returns the rebuilt root key when
// enough distinct shares are in; the caller passes it to barrier.Unseal,
// which reports barrier.ErrBadRootKey if a share was wrong.
//
// The seal configuration is not secret and is stored as plaintext JSON at
// ConfigPath directly in the physical backend, outside the barrier, so it
// can be read while sealed.
package seal

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

// Errors returned by the seal.
var (
	// ErrInvalidConfig is returned for a Config that fails Validate.
	ErrInvalidConfig = errors.New("seal: invalid config")
	// ErrAlreadyInitialized is returned by Init when a config is stored.
	ErrAlreadyInitialized = errors.New("seal: already initialized")
	// ErrNotInitialized is returned by Unsealer.Add before Init.
	ErrNotInitialized = errors.New("seal: not initialized")
	// ErrDuplicateShare is returned by Unsealer.Add for a share already
	// provided in the current unseal attempt; progress is kept.
	ErrDuplicateShare = errors.New("seal: given key has already been provided during this unseal operation")
	// ErrShareLength is returned by Unsealer.Add for a share of the wrong
	// size; progress is kept.
	ErrShareLength = errors.New("seal: unseal key has the wrong length")
	// ErrCombine is returned by Unsealer.Add when the collected shares cannot
	// be combined (for example two shares with one x coordinate); progress
	// is reset.
	ErrCombine = errors.New("seal: cannot combine unseal keys")
)

const (
	// ConfigPath is the physical key of the plaintext seal configuration.
	ConfigPath = "core/seal-config"
	// TypeShamir is the only seal type so far.
	TypeShamir = "shamir"
	// RootKeySize is the size in bytes of the root key Init generates.
	RootKeySize = 32
)

// Config is the seal configuration, persisted as JSON at ConfigPath.
type Config struct {
	// Type is the seal type; only TypeShamir is supported.
	Type string `json:"type"`
	// SecretShares is how many unseal keys Init produces (1..255).
	SecretShares int `json:"secret_shares"`
	// SecretThreshold is how many of them unseal (1..SecretShares; 1 only
	// when SecretShares is 1).
	SecretThreshold int `json:"secret_threshold"`
}

// DefaultConfig returns Vault's default: five shares, three to unseal.
func DefaultConfig() Config {
	return Config{Type: TypeShamir, SecretShares: 5, SecretThreshold: 3}
}

// Validate reports ErrInvalidConfig, naming the field, for a configuration
// Init cannot honour.
func (c Config) Validate() error {
	switch {
	case c.Type != TypeShamir:
		return fmt.Errorf("%w: type %q is not supported (want %q)", ErrInvalidConfig, c.Type, TypeShamir)
	case c.SecretShares < 1 || c.SecretShares > shamir.MaxParts:
		return fmt.Errorf("%w: secret_shares must be between 1 and %d, got %d", ErrInvalidConfig, shamir.MaxParts, c.SecretShares)
	case c.SecretThreshold < 1 || c.SecretThreshold > c.SecretShares:
		return fmt.Errorf("%w: secret_threshold must be between 1 and secret_shares (%d), got %d",
			ErrInvalidConfig, c.SecretShares, c.SecretThreshold)
	case c.SecretShares > 1 && c.SecretThreshold < 2:
		return fmt.Errorf("%w: secret_threshold must be at least 2 when secret_shares is greater than 1", ErrInvalidConfig)
	}
	return nil
}

// shareSize is the length of one unseal key under this config.
func (c Config) shareSize() int {
	if c.SecretShares == 1 {
		return RootKeySize // the single share is the root key itself
	}
	return RootKeySize + 1 // one y byte per key byte plus the x coordinate
}

// Shamir is a Shamir seal over a physical backend. It is safe for
// concurrent use.
type Shamir struct {
	physical storage.Backend
	mu       sync.Mutex // serialises Init
}

// New returns a Shamir seal storing its configuration in physical.
func New(physical storage.Backend) *Shamir {
	return &Shamir{physical: physical}
}

// Init generates a RootKeySize-byte root key, splits it per cfg and stores
// cfg. An empty cfg.Type means TypeShamir. With one share the share is the
// root key itself. The caller owns the returned slices and should zero the
// root key once the barrier is initialized with it.
func (s *Shamir) Init(ctx context.Context, cfg Config) (rootKey []byte, shares [][]byte, err error) {
	if cfg.Type == "" {
		cfg.Type = TypeShamir
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, err := s.Config(ctx)
	if err != nil {
		return nil, nil, err
	}
	if existing != nil {
		return nil, nil, ErrAlreadyInitialized
	}
	rootKey = make([]byte, RootKeySize)
	if _, err := rand.Read(rootKey); err != nil {
		return nil, nil, fmt.Errorf("seal: generate root key: %w", err)
	}
	if cfg.SecretShares == 1 {
		shares = [][]byte{append([]byte(nil), rootKey...)}
	} else if shares, err = shamir.Split(rootKey, cfg.SecretShares, cfg.SecretThreshold); err != nil {
		clear(rootKey)
		return nil, nil, fmt.Errorf("seal: split root key: %w", err)
	}
	if err := s.storeConfig(ctx, cfg); err != nil {
		clear(rootKey)
		for _, sh := range shares {
			clear(sh)
		}
		return nil, nil, err
	}
	return rootKey, shares, nil
}

// Config returns the stored configuration, or nil before Init.
func (s *Shamir) Config(ctx context.Context) (*Config, error) {
	e, err := s.physical.Get(ctx, ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("seal: read config: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var cfg Config
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return nil, fmt.Errorf("seal: decode config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("seal: stored config: %w", err)
	}
	return &cfg, nil
}

func (s *Shamir) storeConfig(ctx context.Context, cfg Config) error {
	buf, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("seal: encode config: %w", err)
	}
	if err := s.physical.Put(ctx, &storage.Entry{Key: ConfigPath, Value: buf}); err != nil {
		return fmt.Errorf("seal: write config: %w", err)
	}
	return nil
}
