package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	raftstore "github.com/secretumvault/secretumvault/storage/raft"
)

// TestTamperOnRaftStorage stores ciphertext through the barrier into a
// real raft + bbolt store, then corrupts it at the physical layer: every
// flipped byte and every moved value must fail to decrypt, never return
// wrong plaintext.
func TestTamperOnRaftStorage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := raftstore.DefaultConfig()
	cfg.DataDir, cfg.NodeID, cfg.BindAddr = t.TempDir(), "tamper", "127.0.0.1:0"
	phys, err := raftstore.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer phys.Close()
	if err := phys.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := phys.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	b := barrier.New(phys)
	key, err := b.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Initialize(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, key); err != nil {
		t.Fatal(err)
	}
	plain := []byte("the real secret value")
	for _, k := range []string{"logical/a/secret", "logical/a/other"} {
		if err := b.Put(ctx, &storage.Entry{Key: k, Value: plain}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := phys.Get(ctx, "logical/a/secret")
	if err != nil || raw == nil {
		t.Fatalf("raw read: %v", err)
	}
	for pos := 0; pos < len(raw.Value); pos++ {
		bad := append([]byte(nil), raw.Value...)
		bad[pos] ^= 0x01
		if err := phys.Put(ctx, &storage.Entry{Key: "logical/a/secret", Value: bad}); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, "logical/a/secret")
		if err == nil {
			t.Fatalf("flipped byte %d of %d: read succeeded with %q", pos, len(raw.Value), got.Value)
		}
	}
	// Moving a valid ciphertext to another key fails too (AAD = key).
	if err := phys.Put(ctx, &storage.Entry{Key: "logical/a/other", Value: raw.Value}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "logical/a/other"); !errors.Is(err, barrier.ErrDecrypt) {
		t.Fatalf("moved ciphertext: %v, %v", got, err)
	}
	// Restoring the original bytes makes the value readable again.
	if err := phys.Put(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "logical/a/secret"); err != nil || string(got.Value) != string(plain) {
		t.Fatalf("original restored: %v, %v", got, err)
	}
}
