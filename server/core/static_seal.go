package core

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/secretumvault/secretumvault/storage"
)

// staticSealKey is where the root key, wrapped with the static seal key,
// is stored in the physical backend (it is ciphertext; see ADR 0005).

// ErrNoStaticSeal: AutoUnseal on a node without a static seal key.
var ErrNoStaticSeal = errors.New("core: no static seal configured")

func staticAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("core: static seal key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// wrapRootKey encrypts rootKey with the static seal key.
func wrapRootKey(staticKey, rootKey []byte) ([]byte, error) {
	aead, err := staticAEAD(staticKey)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, rootKey, []byte(staticSealKey)), nil
}

// unwrapRootKey opens a blob made by wrapRootKey.
func unwrapRootKey(staticKey, blob []byte) ([]byte, error) {
	aead, err := staticAEAD(staticKey)
	if err != nil {
		return nil, err
	}
	if len(blob) < aead.NonceSize() {
		return nil, errors.New("core: static seal blob too short")
	}
	rk, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte(staticSealKey))
	if err != nil {
		return nil, errors.New("core: static seal key does not open the stored root key")
	}
	return rk, nil
}

// storeStaticSeal saves the wrapped root key at init.
func (c *Core) storeStaticSeal(ctx context.Context, rootKey []byte) error {
	if c.cfg.StaticSealKey == nil {
		return nil
	}
	blob, err := wrapRootKey(c.cfg.StaticSealKey, rootKey)
	if err != nil {
		return err
	}
	if err := c.physical.Put(ctx, &storage.Entry{Key: staticSealKey, Value: blob}); err != nil {
		return fmt.Errorf("core: store static seal: %w", err)
	}
	return nil
}

// AutoUnseal unseals an initialised node with the static seal key (for
// unattended restarts). It is a no-op on an unsealed node.
func (c *Core) AutoUnseal(ctx context.Context) error {
	if c.cfg.StaticSealKey == nil {
		return ErrNoStaticSeal
	}
	c.stateLock.Lock()
	defer c.stateLock.Unlock()
	return c.autoUnsealLocked(ctx)
}

func (c *Core) autoUnsealLocked(ctx context.Context) error {
	if !c.sealed.Load() {
		return nil
	}
	e, err := c.physical.Get(ctx, staticSealKey)
	if err != nil {
		return fmt.Errorf("core: read static seal: %w", err)
	}
	if e == nil {
		return errors.New("core: this node was not initialised with a static seal")
	}
	rootKey, err := unwrapRootKey(c.cfg.StaticSealKey, e.Value)
	if err != nil {
		return err
	}
	defer clear(rootKey)
	return c.unsealWithKey(ctx, rootKey)
}
