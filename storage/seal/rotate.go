package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

// RotateRootKey gives the barrier a new random root key while the unseal
// key and its shares stay the same (OpenBao's sys/rotate/root): in one
// transaction the keyring is re-encrypted with the new root key, the new
// root key is stored inside the barrier for standbys (barrier.RootKeyPath),
// wrapped again under the unchanged unseal key, and the unseal key
// wrapped under the new root key. b must be unsealed and over the same
// physical backend as s. A legacy seal, whose shares combine to the old
// root key, keeps that value as its unseal key and so gains the
// key-encryption layer. also are further hooks committed in the same
// transaction, for example one re-wrapping the root key under a static
// seal key. Nodes that were sealed meanwhile unseal with the same shares;
// unsealed standbys pick the new key up in barrier.ReloadKeyring.
func (s *Shamir) RotateRootKey(ctx context.Context, b *barrier.AESGCMBarrier, also ...barrier.RootKeyHook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	hooks := append([]barrier.RootKeyHook{s.rewrapRootKey}, also...)
	if err := b.RotateRootKey(ctx, hooks...); err != nil {
		if errors.Is(err, barrier.ErrNotTransactional) {
			return fmt.Errorf("%w: %w", ErrNotTransactional, err)
		}
		return fmt.Errorf("seal: rotate root key: %w", err)
	}
	return nil
}

// rewrapRootKey is the barrier.RootKeyHook of RotateRootKey: it recovers
// the unseal key with the old root key and wraps the new root key with it.
func (s *Shamir) rewrapRootKey(ctx context.Context, oldRoot, newRoot []byte) ([]*storage.Op, error) {
	if err := s.checkInitialized(ctx); err != nil {
		return nil, err
	}
	unsealKey, err := s.unsealKeyFor(ctx, oldRoot)
	if err != nil {
		return nil, err
	}
	defer clear(unsealKey)
	return keyOps(newRoot, unsealKey)
}

// checkInitialized returns ErrNotInitialized before Init.
func (s *Shamir) checkInitialized(ctx context.Context) error {
	_, err := s.initializedConfig(ctx)
	return err
}

// checkRootKey returns ErrSealChanged unless rootKey opens the barrier
// keyring.
func (s *Shamir) checkRootKey(ctx context.Context, rootKey []byte) error {
	err := barrier.New(s.physical).VerifyRootKey(ctx, rootKey)
	if errors.Is(err, barrier.ErrBadRootKey) {
		return ErrSealChanged
	}
	if err != nil {
		return fmt.Errorf("seal: verify root key: %w", err)
	}
	return nil
}
