package barrier

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/secretumvault/secretumvault/storage"
)

// The encryption count is stored at EncryptionsPath as the 8-byte
// big-endian count, encrypted (with that path as AAD) under the term it
// counts, so the envelope's term says which term the count belongs to.
// Writing it is not itself counted.
const countSize = 8

// Flush persists the active term's encryption count at EncryptionsPath so
// that the node that is active next continues from it. Puts flush on their
// own every flushEvery encryptions; the active node should also Flush
// before it steps down or seals, and may Flush from time to time. It does
// nothing when the count has not changed since the last flush, and returns
// ErrSealed while sealed.
func (b *AESGCMBarrier) Flush(ctx context.Context) error {
	b.countMu.Lock()
	defer b.countMu.Unlock()
	return b.flushLocked(ctx)
}

// maybeFlush persists the count once the active term of kr has gained
// flushEvery encryptions since the last flush. It never waits for a flush
// already running, and a failure is left for the next threshold or Flush:
// the in-memory count is unaffected either way.
func (b *AESGCMBarrier) maybeFlush(ctx context.Context, kr *keyring) {
	tk := kr.active()
	if tk.encryptions.Load()-tk.persisted.Load() < b.flushEvery {
		return
	}
	if !b.countMu.TryLock() {
		return
	}
	defer b.countMu.Unlock()
	_ = b.flushLocked(ctx) // best effort by design; see above
}

// flushLocked writes the active term's count. Callers hold countMu.
func (b *AESGCMBarrier) flushLocked(ctx context.Context) error {
	kr := b.keyring.Load()
	if kr == nil {
		return ErrSealed
	}
	tk := kr.active()
	n := tk.encryptions.Load()
	if n == tk.persisted.Load() {
		return nil
	}
	var buf [countSize]byte
	binary.BigEndian.PutUint64(buf[:], n)
	ct, err := encrypt(tk.aead, tk.term, EncryptionsPath, buf[:])
	if err != nil {
		return err
	}
	if err := b.physical.Put(ctx, &storage.Entry{Key: EncryptionsPath, Value: ct}); err != nil {
		return fmt.Errorf("barrier: write encryption count: %w", err)
	}
	tk.persisted.Store(n)
	return nil
}

// syncCount folds the persisted count into kr's active term (a keyring
// being unsealed or reloaded): the term's count becomes the persisted count
// plus this node's own encryptions that it does not include yet. A count
// persisted for another term is ignored. A stored count that fails to
// decrypt is an error, like any other tampered value.
func (b *AESGCMBarrier) syncCount(ctx context.Context, kr *keyring) error {
	b.countMu.Lock()
	defer b.countMu.Unlock()
	e, err := b.physical.Get(ctx, EncryptionsPath)
	if err != nil {
		return fmt.Errorf("barrier: read encryption count: %w", err)
	}
	if e == nil {
		return nil
	}
	plaintext, err := kr.open(EncryptionsPath, e.Value)
	if err != nil {
		return fmt.Errorf("barrier: read encryption count: %w", err)
	}
	if len(plaintext) != countSize {
		return fmt.Errorf("barrier: read encryption count: %w: %d bytes", ErrMalformed, len(plaintext))
	}
	term, _ := parseTerm(e.Value) // kr.open accepted the header
	tk := kr.active()
	if term != tk.term {
		return nil
	}
	stored := binary.BigEndian.Uint64(plaintext)
	tk.encryptions.Add(stored - tk.persisted.Load()) // modular: may lower it
	tk.persisted.Store(stored)
	return nil
}
