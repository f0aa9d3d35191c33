package barrier_test

import (
	"context"
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestEncryptDecryptFromKeyringBlob shows the join flow: a second barrier
// that only has the root-key-encrypted keyring blob can open a value the
// first one encrypted, and only in the same context.
func TestEncryptDecryptFromKeyringBlob(t *testing.T) {
	ctx := context.Background()
	phys := inmem.New()
	a := barrier.New(phys)
	key, err := a.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Initialize(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Encrypt("x", []byte("v")); !errors.Is(err, barrier.ErrSealed) {
		t.Fatalf("sealed encrypt: %v", err)
	}
	if err := a.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	ct, err := a.Encrypt("core/raft/challenge", []byte("challenge"))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := phys.Get(ctx, barrier.KeyringPath)
	if err != nil || blob == nil {
		t.Fatalf("keyring blob: %v", err)
	}
	other := inmem.New()
	if err := other.Put(ctx, &storage.Entry{Key: barrier.KeyringPath, Value: blob.Value}); err != nil {
		t.Fatal(err)
	}
	b := barrier.New(other)
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	pt, err := b.Decrypt("core/raft/challenge", ct)
	if err != nil || string(pt) != "challenge" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	if _, err := b.Decrypt("another/context", ct); !errors.Is(err, barrier.ErrDecrypt) {
		t.Fatalf("wrong context: %v", err)
	}
}
