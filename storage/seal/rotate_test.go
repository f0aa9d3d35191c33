package seal_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

func putValue(t *testing.T, b *barrier.AESGCMBarrier, key, value string) {
	t.Helper()
	if err := b.Put(context.Background(), &storage.Entry{Key: key, Value: []byte(value)}); err != nil {
		t.Fatal(err)
	}
}

func getValue(t *testing.T, b *barrier.AESGCMBarrier, key string) string {
	t.Helper()
	e, err := b.Get(context.Background(), key)
	if err != nil || e == nil {
		t.Fatalf("Get(%q) = %v, %v", key, e, err)
	}
	return string(e.Value)
}

// TestRotateRootKeyKeepsShares rotates the root key of wrapped and legacy
// seals, on inmem and on raft: the unchanged shares unseal a fresh node, a
// node that was collecting shares during the rotation finishes with them,
// and a standby unsealed before the rotation reloads and reads everything.
func TestRotateRootKeyKeepsShares(t *testing.T) {
	stores := map[string]func(t *testing.T) storage.Backend{
		"inmem": func(*testing.T) storage.Backend { return inmem.New() },
		"raft":  func(t *testing.T) storage.Backend { return newRaftStore(t) },
	}
	for storeName, newStore := range stores {
		for _, mode := range []string{"wrapped", "legacy"} {
			t.Run(storeName+"/"+mode, func(t *testing.T) {
				ctx := context.Background()
				var f *fixture
				if mode == "legacy" {
					f = newLegacyFixture(t, newStore(t), 5, 3)
				} else {
					f = initFixture(t, newStore(t), 5, 3)
				}
				active := f.unsealWith(t, f.shares[:3])
				standby := f.unsealWith(t, f.shares[2:])
				sealedNode := f.seal.NewUnsealer()
				for _, sh := range f.shares[:2] {
					if _, err := sealedNode.Add(ctx, sh); err != nil {
						t.Fatal(err)
					}
				}

				for i := range 2 {
					if err := f.seal.RotateRootKey(ctx, active); err != nil {
						t.Fatalf("rotation %d: %v", i, err)
					}
				}
				putValue(t, active, "after", "rotation")
				if err := barrier.New(f.phys).VerifyRootKey(ctx, f.root); !errors.Is(err, barrier.ErrBadRootKey) {
					t.Fatalf("old root key still opens the keyring: %v", err)
				}
				if e, _ := f.phys.Get(ctx, seal.WrappedRootKeyPath); e == nil {
					t.Fatal("no wrapped root key after rotation")
				}

				fresh := f.unsealWith(t, f.shares[1:4])
				if getValue(t, fresh, "after") != "rotation" {
					t.Fatal("fresh node misses data written after the rotation")
				}
				root, err := sealedNode.Add(ctx, f.shares[4])
				if err != nil {
					t.Fatalf("share after the rotation: %v", err)
				}
				if err := barrier.New(f.phys).Unseal(ctx, root); err != nil {
					t.Fatalf("node sealed during the rotation: %v", err)
				}
				if err := standby.ReloadKeyring(ctx); err != nil {
					t.Fatalf("standby reload: %v", err)
				}
				if getValue(t, standby, "after") != "rotation" || getValue(t, standby, "secret/db") != "s3cr3t" {
					t.Fatal("standby reads wrong data after reload")
				}
				v, _ := f.seal.NewVerifier()
				for _, sh := range f.shares[:3] {
					if _, err := v.Add(ctx, sh, v.Nonce()); err != nil {
						t.Fatalf("Verifier after rotation: %v", err)
					}
				}
			})
		}
	}
}

// TestRotateRekeyRotate interleaves the two ceremonies: the rekeyed shares
// survive a later rotation and the rotated root key survives the rekey.
func TestRotateRekeyRotate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	b := f.unsealWith(t, f.shares[:3])
	if err := f.seal.RotateRootKey(ctx, b); err != nil {
		t.Fatal(err)
	}
	newShares := rekey(t, f, cfg(3, 2), false)
	if err := f.seal.RotateRootKey(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.unsealWith(t, newShares[1:])
	f.unsealFails(t, f.shares[:3])
}

// TestRotateRootKeyExtraHook passes a hook the way the core re-wraps its
// static seal: it sees the root key the shares open afterwards, and its
// write is committed with the rotation.
func TestRotateRootKeyExtraHook(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 2)
	b := f.unsealWith(t, f.shares[:2])
	var seen []byte
	hook := func(_ context.Context, oldRoot, newRoot []byte) ([]*storage.Op, error) {
		if !bytes.Equal(oldRoot, f.root) {
			t.Error("hook's old root key is not the current one")
		}
		seen = bytes.Clone(newRoot)
		return []*storage.Op{{Kind: storage.OpPut, Entry: &storage.Entry{Key: "core/static-seal", Value: []byte("rewrapped")}}}, nil
	}
	if err := f.seal.RotateRootKey(ctx, b, hook); err != nil {
		t.Fatal(err)
	}
	root, err := f.addAll(t, f.shares[1:])
	if err != nil || !bytes.Equal(root, seen) {
		t.Fatalf("shares open %x, %v; the hook saw %x", root, err, seen)
	}
	if e, _ := f.phys.Get(ctx, "core/static-seal"); e == nil || string(e.Value) != "rewrapped" {
		t.Fatal("hook's write was not committed")
	}
}

// TestRotateRootKeyFailureKeepsSeal: whatever part of the rotation fails,
// nothing is written and the old root key and shares keep working.
func TestRotateRootKeyFailureKeepsSeal(t *testing.T) {
	errHook := errors.New("static seal unavailable")
	tests := []struct {
		name    string
		failKey string
		hooks   []barrier.RootKeyHook
		want    error
	}{
		{"wrapped root key write", seal.WrappedRootKeyPath, nil, errInjected},
		{"keyring write", barrier.KeyringPath, nil, errInjected},
		{"later hook", "", []barrier.RootKeyHook{func(context.Context, []byte, []byte) ([]*storage.Op, error) {
			return nil, errHook
		}}, errHook},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			phys := &failingTx{Backend: inmem.New()}
			f := initFixture(t, phys, 3, 2)
			b := f.unsealWith(t, f.shares[:2])
			before := snapshot(t, phys)
			phys.fail(tc.failKey)
			if err := f.seal.RotateRootKey(ctx, b, tc.hooks...); !errors.Is(err, tc.want) {
				t.Fatalf("RotateRootKey = %v, want %v", err, tc.want)
			}
			phys.fail("")
			if !sameSnapshot(before, snapshot(t, phys)) {
				t.Fatal("failed rotation changed storage")
			}
			root, err := f.addAll(t, f.shares[1:])
			if err != nil || !bytes.Equal(root, f.root) {
				t.Fatalf("shares open %x, %v; want the old root key", root, err)
			}
			putValue(t, b, "still", "usable")
			if err := b.ReloadKeyring(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRotateRootKeyRefusals(t *testing.T) {
	tests := []struct {
		name   string
		phys   func() storage.Backend
		damage func(ctx context.Context, phys storage.Backend) error
		want   error
	}{
		{"not transactional", func() storage.Backend { return plainBackend{inmem.New()} }, nil, seal.ErrNotTransactional},
		{"wrapped unseal key missing", func() storage.Backend { return inmem.New() },
			func(ctx context.Context, phys storage.Backend) error {
				return phys.Delete(ctx, seal.WrappedUnsealKeyPath)
			},
			seal.ErrCorruptSeal},
		{"wrapped keys swapped", func() storage.Backend { return inmem.New() },
			func(ctx context.Context, phys storage.Backend) error {
				a, _ := phys.Get(ctx, seal.WrappedRootKeyPath)
				b, _ := phys.Get(ctx, seal.WrappedUnsealKeyPath)
				return errors.Join(phys.Put(ctx, &storage.Entry{Key: seal.WrappedRootKeyPath, Value: b.Value}),
					phys.Put(ctx, &storage.Entry{Key: seal.WrappedUnsealKeyPath, Value: a.Value}))
			},
			seal.ErrCorruptSeal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := initFixture(t, tc.phys(), 3, 2)
			b := f.unsealWith(t, f.shares[:2])
			if tc.damage != nil {
				if err := tc.damage(ctx, f.phys); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.seal.RotateRootKey(ctx, b); !errors.Is(err, tc.want) {
				t.Fatalf("RotateRootKey = %v, want %v", err, tc.want)
			}
			if err := barrier.New(f.phys).VerifyRootKey(ctx, f.root); err != nil {
				t.Fatalf("refused rotation changed the root key: %v", err)
			}
		})
	}
	ctx := context.Background()
	b := barrier.New(inmem.New())
	root, _ := b.GenerateKey()
	if err := b.Initialize(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Unseal(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := seal.New(inmem.New()).RotateRootKey(ctx, b); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("RotateRootKey of an uninitialized seal = %v", err)
	}
}
