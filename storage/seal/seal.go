// Package seal protects the barrier's root key with Shamir's secret
// sharing, with the key-encryption layer Vault uses since 1.3.
//
// Init makes a random root key and a random unseal key, splits the unseal
// key into Config.SecretShares shares (the operators' "unseal keys"), any
// Config.SecretThreshold of which rebuild it, and stores the root key
// wrapped with the unseal key (and the unseal key wrapped with the root
// key) in the physical backend; the caller hands the root key to
// barrier.Initialize once. An Unsealer collects shares one at a time (as
// sys/unseal does) and returns the root key when enough are in; the caller
// passes it to barrier.Unseal.
//
// A seal written before the key-encryption layer has no wrapped root key:
// its shares combine to the root key itself, and everything here keeps
// working with it until a Rekey or RotateRootKey adds the layer.
//
// Ceremonies that need a quorum of key holders build on the same share
// collection: a Verifier checks shares against the seal without unsealing
// anything (sys/generate-root); Rekey replaces the unseal key and its
// shares, keeping the root key (sys/rekey, OpenBao's sys/rotate/root/*);
// RotateRootKey replaces the root key, keeping the unseal key and its
// shares (OpenBao's sys/rotate/root).
//
// Everything the seal stores is outside the barrier (see schema.go), so it
// can be read while sealed; the configuration is plaintext JSON.
//
// Writes that change more than one key (Rekey's commit, RotateRootKey) are
// one storage.Transactional transaction, so a crash never leaves a root key
// that the stored unseal key does not open; they are refused on a backend
// without transactions (both raft and inmem have them). Shamir.mu
// serialises them, and Init, on one node.
package seal

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

// Errors returned by the seal. Share collection (Unsealer, Verifier, Rekey)
// keeps its progress after ErrDuplicateShare, ErrShareLength and ErrNonce,
// and resets it after ErrCombine, ErrBadUnsealKey and
// ErrVerificationMismatch.
var (
	// ErrInvalidConfig is returned for a Config that fails Validate.
	ErrInvalidConfig = errors.New("seal: invalid config")
	// ErrAlreadyInitialized is returned by Init when a config is stored.
	ErrAlreadyInitialized = errors.New("seal: already initialized")
	// ErrNotInitialized is returned by share collection before Init.
	ErrNotInitialized = errors.New("seal: not initialized")
	// ErrDuplicateShare is returned for a share already provided in the
	// current attempt.
	ErrDuplicateShare = errors.New("seal: given key has already been provided during this unseal operation")
	// ErrShareLength is returned for a share of the wrong size.
	ErrShareLength = errors.New("seal: unseal key has the wrong length")
	// ErrCombine is returned when the collected shares cannot be combined
	// (for example two shares with one x coordinate).
	ErrCombine = errors.New("seal: cannot combine unseal keys")
	// ErrBadUnsealKey is returned when the threshold of shares is in but
	// they combine to a key that does not open this seal: a share is
	// wrong, from another cluster, or from before a rekey.
	ErrBadUnsealKey = errors.New("seal: the combined key shares are not valid for this seal")
	// ErrNonce is returned when the nonce given with a share is not that of
	// the operation in progress.
	ErrNonce = errors.New("seal: nonce does not match the operation in progress")
	// ErrAttemptComplete is returned by Verifier.Add once the attempt has
	// verified its shares; start a new Verifier for another.
	ErrAttemptComplete = errors.New("seal: this verification attempt is already complete")
	// ErrRekeyInProgress is returned by Rekey.Init while a rekey runs;
	// cancel it first.
	ErrRekeyInProgress = errors.New("seal: a rekey is already in progress")
	// ErrNoRekey is returned by Rekey operations when none was started.
	ErrNoRekey = errors.New("seal: no rekey is in progress")
	// ErrVerificationPending is returned by Rekey.Update once the new keys
	// exist and wait to be verified with Rekey.Verify.
	ErrVerificationPending = errors.New("seal: the rekey is waiting for the new key shares to be verified")
	// ErrNoVerification is returned by Rekey.Verify and
	// Rekey.RestartVerification when no new keys wait for verification.
	ErrNoVerification = errors.New("seal: no rekey verification is in progress")
	// ErrVerificationMismatch is returned by Rekey.Verify when the new
	// shares given do not combine to the new unseal key.
	ErrVerificationMismatch = errors.New("seal: the key shares given do not match the new unseal key")
	// ErrSealChanged is returned by a rekey commit when the root key no
	// longer opens the barrier (it was rotated after the shares were
	// verified); the rekey must start over.
	ErrSealChanged = errors.New("seal: the root key changed during the rekey; start it again")
	// ErrNotTransactional is returned by Rekey and RotateRootKey when the
	// physical backend cannot write several keys atomically.
	ErrNotTransactional = errors.New("seal: physical backend is not transactional; rekey and root key rotation need atomic writes")
	// ErrCorruptSeal is returned when the stored wrapped keys are malformed
	// or do not match each other.
	ErrCorruptSeal = errors.New("seal: stored seal keys are corrupt")
)

const (
	// TypeShamir is the only seal type so far.
	TypeShamir = "shamir"
	// RootKeySize is the size in bytes of the root key Init generates
	// (and of the unseal key).
	RootKeySize = KeySize
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

// shareSize is the length of one unseal key share under this config.
func (c Config) shareSize() int {
	if c.SecretShares == 1 {
		return KeySize // the single share is the unseal key itself
	}
	return KeySize + 1 // one y byte per key byte plus the x coordinate
}

// split divides key into the shares of c; one share is a copy of key.
func (c Config) split(key []byte) ([][]byte, error) {
	if c.SecretShares == 1 {
		return [][]byte{slices.Clone(key)}, nil
	}
	shares, err := shamir.Split(key, c.SecretShares, c.SecretThreshold)
	if err != nil {
		return nil, fmt.Errorf("seal: split unseal key: %w", err)
	}
	return shares, nil
}

// Shamir is a Shamir seal over a physical backend. It is safe for
// concurrent use.
type Shamir struct {
	physical storage.Backend
	mu       sync.Mutex // serialises Init, rekey commits and RotateRootKey
}

// New returns a Shamir seal storing its configuration and wrapped keys in
// physical.
func New(physical storage.Backend) *Shamir {
	return &Shamir{physical: physical}
}

// Init generates a root key and an unseal key, splits the unseal key per
// cfg, and stores the wrapped keys and cfg (the config last, so a crash
// part-way leaves the seal uninitialized). An empty cfg.Type means
// TypeShamir. With one share the share is the unseal key itself. The caller
// owns the returned slices; it should pass the root key to
// barrier.Initialize and then zero it, and zero the shares once handed
// out.
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
	rootKey, err = newKey()
	if err != nil {
		return nil, nil, err
	}
	unsealKey, err := newKey()
	if err != nil {
		clear(rootKey)
		return nil, nil, err
	}
	defer clear(unsealKey)
	shares, err = s.initKeys(ctx, cfg, rootKey, unsealKey)
	if err != nil {
		clear(rootKey)
		return nil, nil, err
	}
	return rootKey, shares, nil
}

// initKeys splits unsealKey per cfg and stores the seal.
func (s *Shamir) initKeys(ctx context.Context, cfg Config, rootKey, unsealKey []byte) ([][]byte, error) {
	shares, err := cfg.split(unsealKey)
	if err != nil {
		return nil, err
	}
	ops, err := keyOps(rootKey, unsealKey)
	if err == nil {
		var cfgOp *storage.Op
		if cfgOp, err = configOp(cfg); err == nil {
			err = s.write(ctx, append(ops, cfgOp), false)
		}
	}
	if err != nil {
		zeroAll(shares)
		return nil, fmt.Errorf("seal: write seal: %w", err)
	}
	return shares, nil
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

// configOp returns the write that stores cfg.
func configOp(cfg Config) (*storage.Op, error) {
	buf, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("seal: encode config: %w", err)
	}
	return &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: ConfigPath, Value: buf}}, nil
}

// newKey returns a fresh random KeySize-byte key.
func newKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("seal: generate key: %w", err)
	}
	return key, nil
}

// zeroAll clears every key in keys.
func zeroAll(keys [][]byte) {
	for _, k := range keys {
		clear(k)
	}
}
