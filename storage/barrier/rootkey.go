package barrier

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/secretumvault/secretumvault/storage"
)

// RootKeyHook lets the seal (or anything else that wraps the root key)
// take part in RotateRootKey: it is called, with the barrier's keyring lock
// held, with the current and the new root key, and returns physical
// operations to commit in the same transaction as the re-encrypted
// keyring, typically the new root key wrapped under some other key. The
// keys are valid only during the call: a hook must not modify or retain
// them. An error aborts the rotation with nothing written.
type RootKeyHook func(ctx context.Context, oldRootKey, newRootKey []byte) ([]*storage.Op, error)

// Rotate adds a new term with a fresh key, persists the keyring and makes
// the term active; values under older terms still decrypt. The new term's
// encryption count starts at 0.
func (b *AESGCMBarrier) Rotate(ctx context.Context) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kr := b.keyring.Load()
	if kr == nil {
		return 0, ErrSealed
	}
	term := kr.activeTerm
	for t := range kr.keys {
		term = max(term, t)
	}
	if term == math.MaxUint32 {
		return 0, ErrTermsExhausted
	}
	tk, err := b.newTerm(term + 1)
	if err != nil {
		return 0, err
	}
	next := kr.withActive(tk)
	if err := b.persist(ctx, next); err != nil {
		clear(tk.key)
		return 0, err
	}
	b.keyring.Store(next)
	return tk.term, nil
}

// ReloadKeyring re-reads the keyring from physical storage, picking up
// terms another node added with Rotate, a root key it rotated (learnt from
// RootKeyPath with a term key this node holds) and the persisted
// encryption count. The barrier must be unsealed. If the stored keyring
// opens neither with this node's root key nor with one found at
// RootKeyPath, the error wraps ErrBadRootKey.
func (b *AESGCMBarrier) ReloadKeyring(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	next, err := b.load(ctx, kr.rootKey, kr)
	if errors.Is(err, ErrBadRootKey) {
		next, err = b.loadWithRotatedRoot(ctx, kr)
	}
	if err != nil {
		return fmt.Errorf("barrier: reload keyring: %w", err)
	}
	if err := b.syncCount(ctx, next); err != nil {
		next.zeroExcept(kr)
		return fmt.Errorf("barrier: reload keyring: %w", err)
	}
	b.keyring.Store(next)
	clear(kr.rootKey) // next holds its own copy; term keys are shared
	return nil
}

// SetRootKey re-encrypts the keyring with a given root key and stores that
// key at RootKeyPath. The barrier must be unsealed; term keys are
// unchanged. newRootKey is copied. It changes the barrier only: a seal that
// wraps the root key must be updated too, so prefer RotateRootKey with the
// seal's hook, which commits both atomically.
func (b *AESGCMBarrier) SetRootKey(ctx context.Context, newRootKey []byte) error {
	if len(newRootKey) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(newRootKey))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.replaceRootKey(ctx, slices.Clone(newRootKey), nil)
}

// RotateRootKey makes a new random root key and commits, in one
// transaction, the keyring re-encrypted with it, the new key stored at
// RootKeyPath under every term (for standbys; see ReloadKeyring) and the
// operations of hooks (the seal's re-wrapped root key). Term keys, data
// and the encryption count are unchanged. The barrier must be unsealed.
// With hooks the physical backend must be storage.Transactional
// (ErrNotTransactional otherwise), since a root key committed to the
// keyring but not to the seal would leave the seal unopenable.
func (b *AESGCMBarrier) RotateRootKey(ctx context.Context, hooks ...RootKeyHook) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	newRoot, err := b.GenerateKey()
	if err != nil {
		return err
	}
	return b.replaceRootKey(ctx, newRoot, hooks)
}

// replaceRootKey commits newRoot (owned, zeroed on failure) as the root key.
// Callers hold mu.
func (b *AESGCMBarrier) replaceRootKey(ctx context.Context, newRoot []byte, hooks []RootKeyHook) (err error) {
	kr := b.keyring.Load()
	if kr == nil {
		clear(newRoot)
		return ErrSealed
	}
	next := kr.withRootKey(newRoot)
	defer func() {
		if err != nil {
			clear(newRoot)
		}
	}()
	ops, err := rootKeyOps(next)
	if err != nil {
		return err
	}
	for _, hook := range hooks {
		extra, err := hook(ctx, kr.rootKey, next.rootKey)
		if err != nil {
			return fmt.Errorf("barrier: rotate root key: %w", err)
		}
		ops = append(ops, extra...)
	}
	if err := b.commit(ctx, ops, len(hooks) > 0); err != nil {
		return fmt.Errorf("barrier: write root key: %w", err)
	}
	b.keyring.Store(next)
	clear(kr.rootKey)
	return nil
}

// rootKeyOps returns the writes that make kr's root key current: the root
// key record first, then the keyring, the order that is safe without a
// transaction (a record ahead of its keyring is never consulted, since the
// old root key still opens the keyring).
func rootKeyOps(kr *keyring) ([]*storage.Op, error) {
	record := make([]byte, 0, len(kr.keys)*rootEnvelopeSize)
	for _, term := range slices.Sorted(maps.Keys(kr.keys)) {
		env, err := encrypt(kr.keys[term].aead, term, RootKeyPath, kr.rootKey)
		if err != nil {
			return nil, err
		}
		record = append(record, env...)
	}
	ring, err := kr.entry()
	if err != nil {
		return nil, err
	}
	return []*storage.Op{
		{Kind: storage.OpPut, Entry: &storage.Entry{Key: RootKeyPath, Value: record}},
		{Kind: storage.OpPut, Entry: ring},
	}, nil
}

// rootEnvelopeSize is the size of one envelope of the root key record.
const rootEnvelopeSize = headerSize + KeySize + tagSize

// reloadAttempts bounds how often loadWithRotatedRoot starts over when the
// root key is rotated again between its reads of the record and the
// keyring.
const reloadAttempts = 16

// loadWithRotatedRoot loads the keyring with the root key found at
// RootKeyPath, opened with a term key of prev.
func (b *AESGCMBarrier) loadWithRotatedRoot(ctx context.Context, prev *keyring) (*keyring, error) {
	var err error
	for range reloadAttempts {
		var root []byte
		if root, err = b.rotatedRootKey(ctx, prev); err != nil {
			return nil, fmt.Errorf("%w: and no rotated root key opens with this keyring: %w", ErrBadRootKey, err)
		}
		var kr *keyring
		kr, err = b.load(ctx, root, prev)
		clear(root)
		if !errors.Is(err, ErrBadRootKey) {
			return kr, err
		}
	}
	return nil, err
}

// rotatedRootKey opens the root key record with the first of its envelopes
// whose term kr holds. The caller must clear the key.
func (b *AESGCMBarrier) rotatedRootKey(ctx context.Context, kr *keyring) ([]byte, error) {
	e, err := b.physical.Get(ctx, RootKeyPath)
	if err != nil {
		return nil, fmt.Errorf("read root key record: %w", err)
	}
	if e == nil {
		return nil, errors.New("no root key record is stored")
	}
	if len(e.Value) == 0 || len(e.Value)%rootEnvelopeSize != 0 {
		return nil, fmt.Errorf("%w: root key record of %d bytes", ErrMalformed, len(e.Value))
	}
	failure := ErrUnknownTerm
	for env := range slices.Chunk(e.Value, rootEnvelopeSize) {
		root, err := kr.open(RootKeyPath, env)
		if err == nil && len(root) == KeySize {
			return root, nil
		}
		if !errors.Is(err, ErrUnknownTerm) {
			failure = ErrDecrypt
		}
		clear(root)
	}
	return nil, fmt.Errorf("root key record: %w", failure)
}

// commit applies ops to the physical backend in one transaction when it is
// transactional; otherwise in order, or not at all (ErrNotTransactional)
// when they must be atomic.
func (b *AESGCMBarrier) commit(ctx context.Context, ops []*storage.Op, mustBeAtomic bool) error {
	if tx, ok := b.physical.(storage.Transactional); ok {
		return tx.Transaction(ctx, ops)
	}
	if mustBeAtomic {
		return fmt.Errorf("%w: %T", ErrNotTransactional, b.physical)
	}
	for _, op := range ops {
		var err error
		switch op.Kind {
		case storage.OpPut:
			err = b.physical.Put(ctx, op.Entry)
		case storage.OpDelete:
			err = b.physical.Delete(ctx, op.Entry.Key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
