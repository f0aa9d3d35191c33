package seal

import (
	"context"
	"crypto/subtle"
	"fmt"
	"sync"
)

// VerifyStatus is the progress of a share collection: a Verifier's, or the
// verification phase of a Rekey.
type VerifyStatus struct {
	// Nonce identifies the attempt; every share must come with it.
	Nonce string
	// Progress is how many distinct shares are in.
	Progress int
	// Required is the threshold of shares needed.
	Required int
	// Complete is true once the threshold of valid shares was in.
	Complete bool
}

// Verifier collects unseal key shares and checks them against the seal
// without unsealing or changing anything: the quorum check of Vault's
// sys/generate-root/update, also used by Rekey.Update. It is one attempt,
// identified by a random nonce made by NewVerifier: shares accumulate until
// the threshold, then the combined key must be this seal's unseal key
// (it opens the wrapped root key, or is the root key of a legacy seal, and
// that root key opens the barrier keyring), and the attempt is complete.
// It is safe for concurrent use.
type Verifier struct {
	seal  *Shamir
	nonce string

	mu       sync.Mutex
	shares   shareSet
	complete bool
}

// NewVerifier starts a verification attempt with a fresh nonce.
func (s *Shamir) NewVerifier() (*Verifier, error) {
	nonce, err := newNonce()
	if err != nil {
		return nil, err
	}
	return &Verifier{seal: s, nonce: nonce}, nil
}

// Nonce returns the attempt's nonce.
func (v *Verifier) Nonce() string { return v.nonce }

// Status returns the attempt's progress; Required is read from the stored
// config (ErrNotInitialized before Init).
func (v *Verifier) Status(ctx context.Context) (VerifyStatus, error) {
	cfg, err := v.seal.initializedConfig(ctx)
	if err != nil {
		return VerifyStatus{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.statusLocked(cfg), nil
}

// Add records one share given with nonce. Below the threshold it returns
// the progress. At the threshold it combines the shares and checks them:
// valid, the status is Complete and the attempt accepts no more shares
// (ErrAttemptComplete); invalid, it returns ErrCombine or ErrBadUnsealKey
// and progress resets. A wrong nonce (ErrNonce), a repeated share
// (ErrDuplicateShare) or one of the wrong size (ErrShareLength) is rejected
// and progress kept. share is copied.
func (v *Verifier) Add(ctx context.Context, share []byte, nonce string) (VerifyStatus, error) {
	root, st, err := v.add(ctx, share, nonce)
	clear(root)
	return st, err
}

// Reset discards the shares collected so far; the nonce stays.
func (v *Verifier) Reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.shares.reset()
}

// add is Add that also returns the root key the shares opened (nil until
// complete); the caller must clear it.
func (v *Verifier) add(ctx context.Context, share []byte, nonce string) ([]byte, VerifyStatus, error) {
	cfg, err := v.seal.initializedConfig(ctx)
	if err != nil {
		return nil, VerifyStatus{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case v.complete:
		return nil, v.statusLocked(cfg), ErrAttemptComplete
	case !sameNonce(nonce, v.nonce):
		return nil, v.statusLocked(cfg), fmt.Errorf("%w: the nonce of this operation is %q", ErrNonce, v.nonce)
	}
	if err := v.shares.add(cfg, share); err != nil {
		return nil, v.statusLocked(cfg), err
	}
	if v.shares.len() < cfg.SecretThreshold {
		return nil, v.statusLocked(cfg), nil
	}
	unsealKey, err := v.shares.combine()
	if err != nil {
		return nil, v.statusLocked(cfg), err
	}
	defer clear(unsealKey)
	root, err := v.seal.verifyUnsealKey(ctx, unsealKey)
	if err != nil {
		return nil, v.statusLocked(cfg), err
	}
	v.complete = true
	return root, v.statusLocked(cfg), nil
}

func (v *Verifier) statusLocked(cfg *Config) VerifyStatus {
	st := VerifyStatus{Nonce: v.nonce, Progress: v.shares.len(), Required: cfg.SecretThreshold, Complete: v.complete}
	if v.complete {
		st.Progress = st.Required
	}
	return st
}

// initializedConfig returns the stored config, ErrNotInitialized if none.
func (s *Shamir) initializedConfig(ctx context.Context) (*Config, error) {
	cfg, err := s.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, ErrNotInitialized
	}
	return cfg, nil
}

// sameNonce compares nonces in constant time.
func sameNonce(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// progress returns how many shares the attempt holds.
func (v *Verifier) progress() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.shares.len()
}
