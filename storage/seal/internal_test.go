package seal

import (
	"bytes"
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestSharesZeroedAfterUse checks the Unsealer wipes its copies of the
// shares once it returns the key, and on Reset.
func TestSharesZeroedAfterUse(t *testing.T) {
	ctx := context.Background()
	s := New(inmem.New())
	root, shares, err := s.Init(ctx, Config{Type: TypeShamir, SecretShares: 3, SecretThreshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, RootKeySize+1)
	u := s.NewUnsealer()
	for _, sh := range shares[:2] {
		if _, err := u.Add(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	held := append([][]byte(nil), u.shares.shares...)
	key, err := u.Add(ctx, shares[2])
	if err != nil || !bytes.Equal(key, root) {
		t.Fatalf("Add = %x, %v", key, err)
	}
	for i, h := range held {
		if !bytes.Equal(h, zero) {
			t.Fatalf("copy of share %d not zeroed after use", i)
		}
	}
	for i, sh := range shares {
		if bytes.Equal(sh, zero) {
			t.Fatalf("caller's share %d was zeroed", i)
		}
	}

	if _, err := u.Add(ctx, shares[0]); err != nil {
		t.Fatal(err)
	}
	held = append([][]byte(nil), u.shares.shares...)
	u.Reset()
	if !bytes.Equal(held[0], zero) {
		t.Fatal("copy of share not zeroed by Reset")
	}
}
