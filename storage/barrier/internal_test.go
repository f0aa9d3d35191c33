package barrier

import (
	"bytes"
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestSealZeroesKeys checks Seal overwrites the key material of the
// keyring it drops.
func TestSealZeroesKeys(t *testing.T) {
	ctx := context.Background()
	b := New(inmem.New())
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	kr := b.keyring.Load()
	zero := make([]byte, KeySize)
	if bytes.Equal(kr.rootKey, zero) || bytes.Equal(kr.keys[1].key, zero) {
		t.Fatal("keys are zero before Seal")
	}
	b.Seal()
	if !bytes.Equal(kr.rootKey, zero) {
		t.Fatal("root key not zeroed by Seal")
	}
	for term, tk := range kr.keys {
		if !bytes.Equal(tk.key, zero) {
			t.Fatalf("term %d key not zeroed by Seal", term)
		}
	}
	if bytes.Equal(root, zero) {
		t.Fatal("Seal zeroed the caller's root key slice")
	}
}

// TestReloadKeepsCounters checks a reload reuses unchanged term keys, so
// the active term's encryption counter survives.
func TestReloadKeepsCounters(t *testing.T) {
	ctx := context.Background()
	b := New(inmem.New())
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	before := b.keyring.Load()
	before.active().encryptions.Store(7)
	if err := b.ReloadKeyring(ctx); err != nil {
		t.Fatal(err)
	}
	st, _ := b.KeyStatus()
	if st.Encryptions != 7 {
		t.Fatalf("Encryptions after reload = %d, want 7", st.Encryptions)
	}
	if bytes.Equal(b.keyring.Load().active().key, make([]byte, KeySize)) {
		t.Fatal("reload zeroed the live term key")
	}
}

// TestRotateRootKeyZeroesOldKey checks the replaced root key is wiped and
// the hook's view of the keys is the live ones.
func TestRotateRootKeyZeroesOldKey(t *testing.T) {
	ctx := context.Background()
	b := New(inmem.New())
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	before := b.keyring.Load()
	var seenNew []byte
	err := b.RotateRootKey(ctx, func(_ context.Context, oldRoot, newRoot []byte) ([]*storage.Op, error) {
		if !bytes.Equal(oldRoot, root) {
			t.Error("hook's old root key is not the current one")
		}
		seenNew = newRoot
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before.rootKey, make([]byte, KeySize)) {
		t.Fatal("old root key not zeroed after RotateRootKey")
	}
	if !bytes.Equal(seenNew, b.keyring.Load().rootKey) {
		t.Fatal("hook was not given the root key now in use")
	}
}
