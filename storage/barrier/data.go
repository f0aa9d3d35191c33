package barrier

import (
	"context"
	"fmt"
	"slices"

	"github.com/secretumvault/secretumvault/storage"
)

// Get implements storage.Backend: it reads and decrypts one value. A value
// that fails authentication returns an error wrapping ErrDecrypt,
// ErrUnknownTerm, ErrUnknownVersion or ErrMalformed, never wrong data.
func (b *AESGCMBarrier) Get(ctx context.Context, key string) (*storage.Entry, error) {
	kr, err := b.access(key)
	if err != nil {
		return nil, err
	}
	e, err := b.physical.Get(ctx, key)
	if err != nil || e == nil {
		return nil, err
	}
	plaintext, err := kr.open(key, e.Value)
	if err != nil {
		return nil, fmt.Errorf("barrier: get %q: %w", key, err)
	}
	return &storage.Entry{Key: key, Value: plaintext}, nil
}

// Put implements storage.Backend: it encrypts entry.Value under the active
// term, bound to entry.Key. entry is not modified.
func (b *AESGCMBarrier) Put(ctx context.Context, entry *storage.Entry) error {
	kr, err := b.access(entry.Key)
	if err != nil {
		return err
	}
	ciphertext, err := kr.seal(entry.Key, entry.Value)
	if err != nil {
		return err
	}
	if err := b.physical.Put(ctx, &storage.Entry{Key: entry.Key, Value: ciphertext}); err != nil {
		return err
	}
	b.maybeFlush(ctx, kr)
	return nil
}

// Delete implements storage.Backend.
func (b *AESGCMBarrier) Delete(ctx context.Context, key string) error {
	if _, err := b.access(key); err != nil {
		return err
	}
	return b.physical.Delete(ctx, key)
}

// List implements storage.Backend. It decrypts nothing; the barrier's own
// keys are left out of the result.
func (b *AESGCMBarrier) List(ctx context.Context, prefix string) ([]string, error) {
	if b.Sealed() {
		return nil, ErrSealed
	}
	keys, err := b.physical.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(keys, func(k string) bool { return reserved(prefix + k) }), nil
}

// Transaction implements storage.Transactional when the physical backend
// does: puts are encrypted, then every op is applied atomically.
func (b *AESGCMBarrier) Transaction(ctx context.Context, ops []*storage.Op) error {
	tx, ok := b.physical.(storage.Transactional)
	if !ok {
		return fmt.Errorf("%w: %T", ErrNotTransactional, b.physical)
	}
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	encrypted := make([]*storage.Op, len(ops))
	for i, op := range ops {
		if _, err := b.access(op.Entry.Key); err != nil {
			return err
		}
		e := &storage.Entry{Key: op.Entry.Key}
		if op.Kind == storage.OpPut {
			ciphertext, err := kr.seal(e.Key, op.Entry.Value)
			if err != nil {
				return err
			}
			e.Value = ciphertext
		}
		encrypted[i] = &storage.Op{Kind: op.Kind, Entry: e}
	}
	if err := tx.Transaction(ctx, encrypted); err != nil {
		return err
	}
	b.maybeFlush(ctx, kr)
	return nil
}

// access returns the keyring for an operation on key, or why there is none.
func (b *AESGCMBarrier) access(key string) (*keyring, error) {
	kr := b.keyring.Load()
	if kr == nil {
		return nil, ErrSealed
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, err
	}
	if reserved(key) {
		return nil, fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	return kr, nil
}

// seal encrypts plaintext for key under the active term.
func (kr *keyring) seal(key string, plaintext []byte) ([]byte, error) {
	tk := kr.active()
	ciphertext, err := encrypt(tk.aead, tk.term, key, plaintext)
	if err != nil {
		return nil, err
	}
	tk.encryptions.Add(1)
	return ciphertext, nil
}

// open decrypts a stored value read from key.
func (kr *keyring) open(key string, ciphertext []byte) ([]byte, error) {
	term, err := parseTerm(ciphertext)
	if err != nil {
		return nil, err
	}
	tk := kr.lookup(term)
	if tk == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownTerm, term)
	}
	return decrypt(tk.aead, key, ciphertext)
}
