// Package barrier is the encryption layer between the logical store and a
// physical storage.Backend.
//
// Every value that passes through an AESGCMBarrier is encrypted with
// AES-256-GCM under the keyring's active term and stored as
//
//	version (1) | term (4, big-endian) | nonce (12) | ciphertext+tag
//
// with the full storage key as additional authenticated data: a value
// altered in any byte, or moved to another key, fails with an error rather
// than decrypting to wrong data. Rotating adds a term; values written under
// older terms still decrypt.
//
// The keyring (every term's key, its install time, the active term and the
// root key) is stored at KeyringPath in the same format, under term 0,
// encrypted with the root key. The seal supplies the root key to Initialize
// and Unseal; nothing readable is stored without it.
//
// Concurrency: all methods are safe for concurrent use. The unsealed keyring
// is an immutable snapshot behind an atomic pointer, so Get and Put never
// lock; Initialize, Unseal, Seal, Rotate, ReloadKeyring and SetRootKey are
// serialised among themselves.
package barrier

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretumvault/secretumvault/storage"
)

// Errors returned by the barrier. Integrity failures are distinct so callers
// and tests can tell tampering (ErrDecrypt) from configuration trouble.
var (
	// ErrSealed is returned by every data operation while the barrier is sealed.
	ErrSealed = errors.New("barrier: sealed")
	// ErrNotInitialized is returned by Unseal before Initialize.
	ErrNotInitialized = errors.New("barrier: not initialized")
	// ErrAlreadyInitialized is returned by Initialize when a keyring exists.
	ErrAlreadyInitialized = errors.New("barrier: already initialized")
	// ErrBadRootKey is returned by Unseal and VerifyRootKey when the root
	// key does not decrypt the stored keyring.
	ErrBadRootKey = errors.New("barrier: root key is incorrect")
	// ErrInvalidKeyLength is returned for a root key that is not KeySize bytes.
	ErrInvalidKeyLength = errors.New("barrier: key must be 32 bytes")
	// ErrDecrypt is returned when a stored value fails authentication: it was
	// altered, moved to another key, or written under another keyring.
	ErrDecrypt = errors.New("barrier: decryption failed")
	// ErrUnknownTerm is returned for a value whose term is not in the keyring.
	ErrUnknownTerm = errors.New("barrier: unknown key term")
	// ErrUnknownVersion is returned for a value with an unsupported format byte.
	ErrUnknownVersion = errors.New("barrier: unsupported ciphertext version")
	// ErrMalformed is returned for a stored value too short to be a ciphertext.
	ErrMalformed = errors.New("barrier: malformed ciphertext")
	// ErrCorruptKeyring is returned when the decrypted keyring is invalid.
	ErrCorruptKeyring = errors.New("barrier: corrupt keyring")
	// ErrReservedKey is returned for operations on KeyringPath through the
	// barrier; only the barrier itself reads and writes it.
	ErrReservedKey = errors.New("barrier: reserved key")
	// ErrNotTransactional is returned by Transaction when the physical
	// backend does not implement storage.Transactional.
	ErrNotTransactional = errors.New("barrier: physical backend is not transactional")
	// ErrTermsExhausted is returned by Rotate when no term number is left.
	ErrTermsExhausted = errors.New("barrier: key terms exhausted")
)

const (
	// KeySize is the size in bytes of the root key and of every term key.
	KeySize = 32
	// KeyringPath is the physical key holding the encrypted keyring.
	KeyringPath = "core/keyring"
)

// KeyStatus describes the active encryption key.
type KeyStatus struct {
	// Term is the active term; terms start at 1 and grow by one per Rotate.
	Term uint32
	// InstallTime is when the active term was created.
	InstallTime time.Time
	// Encryptions counts values encrypted with the active term by this
	// process since it unsealed (not persisted, not cluster-wide).
	Encryptions uint64
}

// AESGCMBarrier encrypts a physical storage.Backend. It implements
// storage.Backend, and storage.Transactional when the physical backend does.
type AESGCMBarrier struct {
	physical storage.Backend
	mu       sync.Mutex              // serialises keyring changes
	keyring  atomic.Pointer[keyring] // nil while sealed
}

var _ storage.Transactional = (*AESGCMBarrier)(nil)

// New returns a sealed barrier over physical.
func New(physical storage.Backend) *AESGCMBarrier {
	return &AESGCMBarrier{physical: physical}
}

// GenerateKey returns a new random KeySize-byte key, suitable as a root key.
func (b *AESGCMBarrier) GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("barrier: generate key: %w", err)
	}
	return key, nil
}

// Initialized reports whether a keyring exists in physical storage.
func (b *AESGCMBarrier) Initialized(ctx context.Context) (bool, error) {
	e, err := b.physical.Get(ctx, KeyringPath)
	if err != nil {
		return false, fmt.Errorf("barrier: read keyring: %w", err)
	}
	return e != nil, nil
}

// Initialize creates a keyring with term 1 and stores it encrypted with
// rootKey. The barrier stays sealed; call Unseal next. rootKey is copied.
func (b *AESGCMBarrier) Initialize(ctx context.Context, rootKey []byte) error {
	if len(rootKey) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(rootKey))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, err := b.Initialized(ctx)
	if err != nil {
		return err
	}
	if ok {
		return ErrAlreadyInitialized
	}
	tk, err := b.newTerm(1)
	if err != nil {
		return err
	}
	kr := &keyring{rootKey: slices.Clone(rootKey), activeTerm: 1, keys: map[uint32]*termKey{1: tk}}
	defer kr.zero()
	return b.persist(ctx, kr)
}

// Unseal decrypts the stored keyring with rootKey and makes the barrier
// usable. A wrong key returns ErrBadRootKey and leaves it sealed. Unsealing
// an unsealed barrier is a no-op. rootKey is copied.
func (b *AESGCMBarrier) Unseal(ctx context.Context, rootKey []byte) error {
	if len(rootKey) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(rootKey))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keyring.Load() != nil {
		return nil
	}
	kr, err := b.load(ctx, rootKey, nil)
	if err != nil {
		return err
	}
	b.keyring.Store(kr)
	return nil
}

// VerifyRootKey reports whether rootKey decrypts the stored keyring
// (nil) or not (ErrBadRootKey), without changing the barrier's state.
func (b *AESGCMBarrier) VerifyRootKey(ctx context.Context, rootKey []byte) error {
	if len(rootKey) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(rootKey))
	}
	kr, err := b.load(ctx, rootKey, nil)
	if err != nil {
		return err
	}
	kr.zeroExcept(nil)
	return nil
}

// Seal drops the keyring and zeroes its key material. Data operations
// return ErrSealed until the next Unseal.
func (b *AESGCMBarrier) Seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if kr := b.keyring.Swap(nil); kr != nil {
		kr.zero()
	}
}

// Sealed reports whether the barrier is sealed.
func (b *AESGCMBarrier) Sealed() bool {
	return b.keyring.Load() == nil
}

// Rotate adds a new term with a fresh key, persists the keyring and makes
// the term active; values under older terms still decrypt.
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

// ReloadKeyring re-reads the keyring from physical storage, picking up terms
// another node added with Rotate. The barrier must be unsealed.
func (b *AESGCMBarrier) ReloadKeyring(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	next, err := b.load(ctx, kr.rootKey, kr)
	if err != nil {
		return fmt.Errorf("barrier: reload keyring: %w", err)
	}
	b.keyring.Store(next)
	clear(kr.rootKey) // next holds its own copy; term keys are shared
	return nil
}

// SetRootKey re-encrypts the keyring with a new root key (after a rekey).
// The barrier must be unsealed; term keys are unchanged. newRootKey is copied.
func (b *AESGCMBarrier) SetRootKey(ctx context.Context, newRootKey []byte) error {
	if len(newRootKey) != KeySize {
		return fmt.Errorf("%w: got %d bytes", ErrInvalidKeyLength, len(newRootKey))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	next := kr.withRootKey(slices.Clone(newRootKey))
	if err := b.persist(ctx, next); err != nil {
		clear(next.rootKey)
		return err
	}
	b.keyring.Store(next)
	clear(kr.rootKey)
	return nil
}

// KeyStatus describes the active term.
func (b *AESGCMBarrier) KeyStatus() (KeyStatus, error) {
	kr := b.keyring.Load()
	if kr == nil {
		return KeyStatus{}, ErrSealed
	}
	tk := kr.active()
	return KeyStatus{Term: tk.term, InstallTime: tk.installTime, Encryptions: tk.encryptions.Load()}, nil
}

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
	return b.physical.Put(ctx, &storage.Entry{Key: entry.Key, Value: ciphertext})
}

// Delete implements storage.Backend.
func (b *AESGCMBarrier) Delete(ctx context.Context, key string) error {
	if _, err := b.access(key); err != nil {
		return err
	}
	return b.physical.Delete(ctx, key)
}

// List implements storage.Backend. It decrypts nothing; the keyring entry
// is left out of the result.
func (b *AESGCMBarrier) List(ctx context.Context, prefix string) ([]string, error) {
	if b.Sealed() {
		return nil, ErrSealed
	}
	keys, err := b.physical.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(keys, func(k string) bool { return prefix+k == KeyringPath }), nil
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
	return tx.Transaction(ctx, encrypted)
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
	if key == KeyringPath {
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

// newTerm makes a fresh random key for term.
func (b *AESGCMBarrier) newTerm(term uint32) (*termKey, error) {
	key, err := b.GenerateKey()
	if err != nil {
		return nil, err
	}
	return newTermKey(term, key, time.Now().UTC())
}

// persist encrypts kr with its root key and writes it to KeyringPath.
func (b *AESGCMBarrier) persist(ctx context.Context, kr *keyring) error {
	plaintext, err := kr.marshal()
	if err != nil {
		return err
	}
	defer clear(plaintext)
	aead, err := newAEAD(kr.rootKey)
	if err != nil {
		return err
	}
	blob, err := encrypt(aead, rootTerm, KeyringPath, plaintext)
	if err != nil {
		return err
	}
	if err := b.physical.Put(ctx, &storage.Entry{Key: KeyringPath, Value: blob}); err != nil {
		return fmt.Errorf("barrier: write keyring: %w", err)
	}
	return nil
}

// load reads the keyring and decrypts it with rootKey; prev (may be nil)
// lends its unchanged term keys. A key that does not authenticate the blob,
// or differs from the root key stored inside it, is ErrBadRootKey.
func (b *AESGCMBarrier) load(ctx context.Context, rootKey []byte, prev *keyring) (*keyring, error) {
	e, err := b.physical.Get(ctx, KeyringPath)
	if err != nil {
		return nil, fmt.Errorf("barrier: read keyring: %w", err)
	}
	if e == nil {
		return nil, ErrNotInitialized
	}
	term, err := parseTerm(e.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptKeyring, err)
	}
	if term != rootTerm {
		return nil, fmt.Errorf("%w: keyring labelled term %d", ErrCorruptKeyring, term)
	}
	aead, err := newAEAD(rootKey)
	if err != nil {
		return nil, err
	}
	plaintext, err := decrypt(aead, KeyringPath, e.Value)
	if err != nil {
		return nil, ErrBadRootKey
	}
	defer clear(plaintext)
	kr, err := unmarshalKeyring(plaintext, prev)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(kr.rootKey, rootKey) != 1 {
		kr.zeroExcept(prev)
		return nil, ErrBadRootKey
	}
	return kr, nil
}
