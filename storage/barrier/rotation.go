package barrier

import (
	"context"
	"fmt"
	"time"
)

// Limits of a RotationConfig, as Vault's sys/rotate/config.
const (
	// MaxRotationOperations is the default and the largest max_operations:
	// about 90% of 2^32, NIST's bound for random 96-bit GCM nonces under one
	// key, leaving headroom for encryptions not yet counted.
	MaxRotationOperations uint64 = 3_865_470_566
	// MinRotationOperations is the smallest max_operations.
	MinRotationOperations uint64 = 1_000_000
	// MinRotationInterval is the shortest non-zero interval.
	MinRotationInterval = 24 * time.Hour
)

// RotationConfig says when the active term is due for automatic rotation
// (Vault's sys/rotate/config). It is stored in the keyring, so it
// replicates with it and every node that reloads the keyring sees it.
type RotationConfig struct {
	// MaxOperations rotates the term once it has encrypted this many
	// values (MinRotationOperations..MaxRotationOperations).
	MaxOperations uint64 `json:"max_operations"`
	// Interval rotates the term this long after it was installed; 0 turns
	// the interval off, otherwise it is at least MinRotationInterval.
	Interval time.Duration `json:"interval"`
	// Enabled turns automatic rotation on or off as a whole.
	Enabled bool `json:"enabled"`
}

// DefaultRotationConfig returns Vault's default: rotate after
// MaxRotationOperations encryptions, no interval, enabled.
func DefaultRotationConfig() RotationConfig {
	return RotationConfig{MaxOperations: MaxRotationOperations, Enabled: true}
}

// Validate reports ErrInvalidRotationConfig, naming the field, for a
// configuration outside Vault's limits.
func (c RotationConfig) Validate() error {
	switch {
	case c.MaxOperations < MinRotationOperations || c.MaxOperations > MaxRotationOperations:
		return fmt.Errorf("%w: max_operations must be in the range [%d,%d], got %d",
			ErrInvalidRotationConfig, MinRotationOperations, MaxRotationOperations, c.MaxOperations)
	case c.Interval < 0:
		return fmt.Errorf("%w: interval must not be negative, got %s", ErrInvalidRotationConfig, c.Interval)
	case c.Interval > 0 && c.Interval < MinRotationInterval:
		return fmt.Errorf("%w: interval must be 0 (off) or at least %s, got %s",
			ErrInvalidRotationConfig, MinRotationInterval, c.Interval)
	}
	return nil
}

// RotationConfig returns the automatic rotation config of the keyring.
func (b *AESGCMBarrier) RotationConfig() (RotationConfig, error) {
	kr := b.keyring.Load()
	if kr == nil {
		return RotationConfig{}, ErrSealed
	}
	return kr.rotation, nil
}

// SetRotationConfig validates cfg and persists it in the keyring. The
// barrier must be unsealed.
func (b *AESGCMBarrier) SetRotationConfig(ctx context.Context, cfg RotationConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	next := kr.withRotation(cfg)
	if err := b.persist(ctx, next); err != nil {
		return err
	}
	b.keyring.Store(next)
	return nil
}

// RotationDue reports whether the active term should be rotated at now
// under the rotation config, and why: its encryption count reached
// MaxOperations, or Interval has passed since it was installed. It reads
// only memory, so the active node's scheduler may poll it as often as it
// likes; the count is this node's KeyStatus().Encryptions. It is (false,
// "") while sealed, when rotation is disabled, or when nothing is due.
func (b *AESGCMBarrier) RotationDue(now time.Time) (bool, string) {
	kr := b.keyring.Load()
	if kr == nil || !kr.rotation.Enabled {
		return false, ""
	}
	tk, cfg := kr.active(), kr.rotation
	if n := tk.encryptions.Load(); n >= cfg.MaxOperations {
		return true, fmt.Sprintf("term %d has encrypted %d values, max_operations is %d", tk.term, n, cfg.MaxOperations)
	}
	if age := now.Sub(tk.installTime); cfg.Interval > 0 && age >= cfg.Interval {
		return true, fmt.Sprintf("term %d was installed %s ago, interval is %s", tk.term, age.Round(time.Second), cfg.Interval)
	}
	return false, ""
}
