package seal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

// Unsealer collects unseal keys across calls, like Vault's sys/unseal. It
// is safe for concurrent use; one Unsealer serves one node.
type Unsealer struct {
	seal *Shamir

	mu     sync.Mutex
	shares [][]byte // private copies, zeroed on reset
	nonce  string
}

// NewUnsealer returns an Unsealer with no progress.
func (s *Shamir) NewUnsealer() *Unsealer {
	return &Unsealer{seal: s}
}

// Add records one unseal key. It returns (nil, nil) while fewer than the
// threshold of distinct keys are in, and the rebuilt root key once enough
// are; progress then resets. The root key is only as good as the keys given:
// verify it with barrier.Unseal. A repeated key (ErrDuplicateShare) or one
// of the wrong size (ErrShareLength) is rejected and progress kept; a
// failure to combine (ErrCombine) resets progress. share is copied; the
// caller owns the returned key and should zero it after use.
func (u *Unsealer) Add(ctx context.Context, share []byte) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	cfg, err := u.seal.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, ErrNotInitialized
	}
	if want := cfg.shareSize(); len(share) != want {
		return nil, fmt.Errorf("%w: got %d bytes, want %d", ErrShareLength, len(share), want)
	}
	for _, have := range u.shares {
		if subtle.ConstantTimeCompare(have, share) == 1 {
			return nil, ErrDuplicateShare
		}
	}
	if len(u.shares) == 0 {
		if u.nonce, err = newNonce(); err != nil {
			return nil, err
		}
	}
	u.shares = append(u.shares, slices.Clone(share))
	if len(u.shares) < cfg.SecretThreshold {
		return nil, nil
	}
	defer u.reset()
	if cfg.SecretThreshold == 1 {
		return slices.Clone(u.shares[0]), nil
	}
	key, err := shamir.Combine(u.shares)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCombine, err)
	}
	return key, nil
}

// Progress returns how many distinct keys the current attempt holds.
func (u *Unsealer) Progress() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.shares)
}

// Nonce identifies the current unseal attempt: a random UUID made when its
// first key arrives, "" when there is no progress.
func (u *Unsealer) Nonce() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.nonce
}

// Reset discards the current attempt and zeroes the keys it held.
func (u *Unsealer) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reset()
}

func (u *Unsealer) reset() {
	for _, s := range u.shares {
		clear(s)
	}
	u.shares = nil
	u.nonce = ""
}

// newNonce returns a random (version 4) UUID string.
func newNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
