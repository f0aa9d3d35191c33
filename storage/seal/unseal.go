package seal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
)

// Unsealer collects unseal key shares across calls, like Vault's
// sys/unseal. It is safe for concurrent use; one Unsealer serves one node.
type Unsealer struct {
	seal *Shamir

	mu     sync.Mutex
	shares shareSet
	nonce  string
}

// NewUnsealer returns an Unsealer with no progress.
func (s *Shamir) NewUnsealer() *Unsealer {
	return &Unsealer{seal: s}
}

// Add records one share. It returns (nil, nil) while fewer than the
// threshold of distinct shares are in; once enough are, it combines them
// into the unseal key, opens the wrapped root key with it and returns the
// root key, and progress resets. For a legacy seal (no wrapped root key)
// the combined key is the root key. Either way verify it with
// barrier.Unseal. A repeated share (ErrDuplicateShare) or one of the wrong
// size (ErrShareLength) is rejected and progress kept; shares that cannot
// be combined (ErrCombine) or whose key does not open the wrapped root key
// (ErrBadUnsealKey) reset progress. share is copied; the caller owns the
// returned key and should zero it after use.
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
	if err := u.shares.add(cfg, share); err != nil {
		return nil, err
	}
	if u.nonce == "" {
		if u.nonce, err = newNonce(); err != nil {
			u.reset()
			return nil, err
		}
	}
	if u.shares.len() < cfg.SecretThreshold {
		return nil, nil
	}
	defer u.reset()
	unsealKey, err := u.shares.combine()
	if err != nil {
		return nil, err
	}
	defer clear(unsealKey)
	return u.seal.rootKeyFor(ctx, unsealKey)
}

// Progress returns how many distinct shares the current attempt holds.
func (u *Unsealer) Progress() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.shares.len()
}

// Nonce identifies the current unseal attempt: a random UUID made when its
// first share arrives, "" when there is no progress.
func (u *Unsealer) Nonce() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.nonce
}

// Reset discards the current attempt and zeroes the shares it held.
func (u *Unsealer) Reset() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.reset()
}

func (u *Unsealer) reset() {
	u.shares.reset()
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
