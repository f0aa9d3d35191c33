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
// The keyring (every term's key, its install time, the active term, the
// root key and the automatic rotation config) is stored at KeyringPath in
// the same format, under term 0, encrypted with the root key. The seal
// supplies the root key to Initialize and Unseal; nothing readable is
// stored without it. RotateRootKey replaces the root key and also stores it
// at RootKeyPath encrypted with the term keys, so that a standby still
// holding the old keyring picks the new root key up in ReloadKeyring, as
// Vault's ReloadRootKey does.
//
// The barrier counts the encryptions of the active term with one atomic
// add per encryption. The count is persisted at EncryptionsPath by the Put
// (or Transaction) that brings it 16384 past the last persisted value and
// by Flush, never on every Put, and read back by Unseal and ReloadKeyring,
// so the node that becomes active continues from it; RotationDue compares
// it, and the term's age, with the RotationConfig.
//
// Concurrency: all methods are safe for concurrent use. The unsealed keyring
// is an immutable snapshot behind an atomic pointer, so Get and Put never
// lock (a Put that crosses the flush threshold tries a lock and skips the
// flush when another is running); Initialize, Unseal, Seal, Rotate,
// ReloadKeyring, SetRootKey, RotateRootKey and SetRotationConfig are
// serialised among themselves.
package barrier

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
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
	// ErrReservedKey is returned for operations through the barrier on one
	// of its own keys (KeyringPath, RootKeyPath, EncryptionsPath); only the
	// barrier itself reads and writes them.
	ErrReservedKey = errors.New("barrier: reserved key")
	// ErrNotTransactional is returned by Transaction, and by RotateRootKey
	// with hooks, when the physical backend does not implement
	// storage.Transactional.
	ErrNotTransactional = errors.New("barrier: physical backend is not transactional")
	// ErrTermsExhausted is returned by Rotate when no term number is left.
	ErrTermsExhausted = errors.New("barrier: key terms exhausted")
	// ErrInvalidRotationConfig is returned by RotationConfig.Validate and
	// SetRotationConfig for a config outside Vault's limits; the message
	// names the field.
	ErrInvalidRotationConfig = errors.New("barrier: invalid rotation config")
)

// KeySize is the size in bytes of the root key and of every term key.
const KeySize = 32

// defaultFlushEvery is how many encryptions the active term may gain
// before a Put persists the count: rare enough to cost nothing per Put,
// small against MinRotationOperations so a failover loses little.
const defaultFlushEvery = 1 << 14

// KeyStatus describes the active encryption key.
type KeyStatus struct {
	// Term is the active term; terms start at 1 and grow by one per Rotate.
	Term uint32
	// InstallTime is when the active term was created.
	InstallTime time.Time
	// Encryptions counts values encrypted with the active term: the count
	// persisted by the active node (read at Unseal and ReloadKeyring) plus
	// this node's encryptions since. Rotate starts it again at 0.
	Encryptions uint64
}

// AESGCMBarrier encrypts a physical storage.Backend. It implements
// storage.Backend, and storage.Transactional when the physical backend does.
type AESGCMBarrier struct {
	physical storage.Backend
	mu       sync.Mutex              // serialises keyring changes
	keyring  atomic.Pointer[keyring] // nil while sealed

	countMu    sync.Mutex // serialises reads and writes of EncryptionsPath
	flushEvery uint64     // encryptions between automatic count flushes
}

var _ storage.Transactional = (*AESGCMBarrier)(nil)

// New returns a sealed barrier over physical.
func New(physical storage.Backend) *AESGCMBarrier {
	return &AESGCMBarrier{physical: physical, flushEvery: defaultFlushEvery}
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
	kr := &keyring{rootKey: slices.Clone(rootKey), activeTerm: 1, keys: map[uint32]*termKey{1: tk}, rotation: DefaultRotationConfig()}
	defer kr.zero()
	return b.persist(ctx, kr)
}

// Unseal decrypts the stored keyring with rootKey, reads the persisted
// encryption count and makes the barrier usable. A wrong key returns
// ErrBadRootKey and leaves it sealed. Unsealing an unsealed barrier is a
// no-op. rootKey is copied.
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
	if err := b.syncCount(ctx, kr); err != nil {
		kr.zero()
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

// KeyStatus describes the active term.
func (b *AESGCMBarrier) KeyStatus() (KeyStatus, error) {
	kr := b.keyring.Load()
	if kr == nil {
		return KeyStatus{}, ErrSealed
	}
	tk := kr.active()
	return KeyStatus{Term: tk.term, InstallTime: tk.installTime, Encryptions: tk.encryptions.Load()}, nil
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
	e, err := kr.entry()
	if err != nil {
		return err
	}
	if err := b.physical.Put(ctx, e); err != nil {
		return fmt.Errorf("barrier: write keyring: %w", err)
	}
	return nil
}

// entry returns kr as stored at KeyringPath: encrypted with its root key.
func (kr *keyring) entry() (*storage.Entry, error) {
	plaintext, err := kr.marshal()
	if err != nil {
		return nil, err
	}
	defer clear(plaintext)
	aead, err := newAEAD(kr.rootKey)
	if err != nil {
		return nil, err
	}
	blob, err := encrypt(aead, rootTerm, KeyringPath, plaintext)
	if err != nil {
		return nil, err
	}
	return &storage.Entry{Key: KeyringPath, Value: blob}, nil
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
