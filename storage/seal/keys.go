package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
)

// A wrapped key is stored as
//
//	version (1) | nonce (12) | AES-256-GCM(kek, key, aad = storage path)
const (
	wrapVersion byte = 1
	nonceSize        = 12
	wrappedSize      = 1 + nonceSize + KeySize + 16
)

// KeySize is the size in bytes of the unseal key and of the root key.
const KeySize = barrier.KeySize

// errUnwrap: the key does not authenticate the wrapped blob.
var errUnwrap = errors.New("seal: key does not open the wrapped key")

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: wrapping key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: aes: %w", err)
	}
	return cipher.NewGCM(block)
}

// wrapKey encrypts key with kek for storage at path.
func wrapKey(kek []byte, path string, key []byte) ([]byte, error) {
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+nonceSize, wrappedSize)
	out[0] = wrapVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[1:], key, []byte(path)), nil
}

// unwrapKey opens a blob made by wrapKey for path: errUnwrap when kek is
// not the key that wrapped it, ErrCorruptSeal when it is no such blob.
func unwrapKey(kek []byte, path string, blob []byte) ([]byte, error) {
	if len(blob) != wrappedSize || blob[0] != wrapVersion {
		return nil, fmt.Errorf("%w: %s is not a wrapped key", ErrCorruptSeal, path)
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, blob[1:1+nonceSize], blob[1+nonceSize:], []byte(path))
	if err != nil {
		return nil, errUnwrap
	}
	return key, nil
}

// keyOps returns the writes that store rootKey wrapped with unsealKey and
// unsealKey wrapped with rootKey.
func keyOps(rootKey, unsealKey []byte) ([]*storage.Op, error) {
	wrappedRoot, err := wrapKey(unsealKey, WrappedRootKeyPath, rootKey)
	if err != nil {
		return nil, err
	}
	wrappedUnseal, err := wrapKey(rootKey, WrappedUnsealKeyPath, unsealKey)
	if err != nil {
		return nil, err
	}
	return []*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: WrappedRootKeyPath, Value: wrappedRoot}},
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: WrappedUnsealKeyPath, Value: wrappedUnseal}},
	}, nil
}

// read returns the value stored at path, nil when absent.
func (s *Shamir) read(ctx context.Context, path string) ([]byte, error) {
	e, err := s.physical.Get(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("seal: read %s: %w", path, err)
	}
	if e == nil {
		return nil, nil
	}
	return e.Value, nil
}

// rootKeyFor returns the root key that unsealKey opens: the wrapped root
// key opened with it (ErrBadUnsealKey if it does not open), or, for a seal
// without one (legacy), a copy of unsealKey itself. The caller must clear
// the result.
func (s *Shamir) rootKeyFor(ctx context.Context, unsealKey []byte) ([]byte, error) {
	blob, err := s.read(ctx, WrappedRootKeyPath)
	if err != nil {
		return nil, err
	}
	if blob == nil {
		return slices.Clone(unsealKey), nil
	}
	root, err := unwrapKey(unsealKey, WrappedRootKeyPath, blob)
	if errors.Is(err, errUnwrap) {
		return nil, ErrBadUnsealKey
	}
	return root, err
}

// verifyUnsealKey returns the root key if unsealKey is this seal's unseal
// key: it opens the wrapped root key (or is the root key, legacy), and that
// root key opens the barrier's keyring. It changes nothing. The caller
// must clear the result.
func (s *Shamir) verifyUnsealKey(ctx context.Context, unsealKey []byte) ([]byte, error) {
	root, err := s.rootKeyFor(ctx, unsealKey)
	if err != nil {
		return nil, err
	}
	if err := barrier.New(s.physical).VerifyRootKey(ctx, root); err != nil {
		clear(root)
		if errors.Is(err, barrier.ErrBadRootKey) {
			return nil, fmt.Errorf("%w: %w", ErrBadUnsealKey, err)
		}
		return nil, fmt.Errorf("seal: verify root key: %w", err)
	}
	return root, nil
}

// unsealKeyFor returns the unseal key of the seal whose root key is
// rootKey: unwrapped from WrappedUnsealKeyPath and checked to open the
// wrapped root key back to rootKey, or, for a legacy seal, a copy of
// rootKey. The caller must clear the result.
func (s *Shamir) unsealKeyFor(ctx context.Context, rootKey []byte) ([]byte, error) {
	wrappedRoot, err1 := s.read(ctx, WrappedRootKeyPath)
	wrappedUnseal, err2 := s.read(ctx, WrappedUnsealKeyPath)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	switch {
	case wrappedRoot == nil && wrappedUnseal == nil:
		return slices.Clone(rootKey), nil
	case wrappedRoot == nil || wrappedUnseal == nil:
		return nil, fmt.Errorf("%w: only one of %s and %s is stored", ErrCorruptSeal, WrappedRootKeyPath, WrappedUnsealKeyPath)
	}
	unsealKey, err := unwrapKey(rootKey, WrappedUnsealKeyPath, wrappedUnseal)
	if err != nil {
		return nil, fmt.Errorf("%w: the root key does not open %s: %w", ErrCorruptSeal, WrappedUnsealKeyPath, err)
	}
	back, err := unwrapKey(unsealKey, WrappedRootKeyPath, wrappedRoot)
	ok := err == nil && subtle.ConstantTimeCompare(back, rootKey) == 1
	clear(back)
	if !ok {
		clear(unsealKey)
		return nil, fmt.Errorf("%w: %s and %s do not match", ErrCorruptSeal, WrappedRootKeyPath, WrappedUnsealKeyPath)
	}
	return unsealKey, nil
}

// write applies ops (all puts) to the physical backend in one transaction
// when it is transactional; otherwise in order, or not at all
// (ErrNotTransactional) when they must be atomic.
func (s *Shamir) write(ctx context.Context, ops []*storage.Op, mustBeAtomic bool) error {
	if tx, ok := s.physical.(storage.Transactional); ok {
		return tx.Transaction(ctx, ops)
	}
	if mustBeAtomic {
		return fmt.Errorf("%w: %T", ErrNotTransactional, s.physical)
	}
	for _, op := range ops {
		if err := s.physical.Put(ctx, op.Entry); err != nil {
			return err
		}
	}
	return nil
}
