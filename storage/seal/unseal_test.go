package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/storage/barrier"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

func add(t *testing.T, u *seal.Unsealer, share []byte) []byte {
	t.Helper()
	key, err := u.Add(context.Background(), share)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return key
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUnsealFlow(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	if u.Progress() != 0 || u.Nonce() != "" {
		t.Fatalf("fresh unsealer: progress %d nonce %q", u.Progress(), u.Nonce())
	}
	if key := add(t, u, f.shares[4]); key != nil {
		t.Fatal("key returned after one share")
	}
	nonce := u.Nonce()
	if !uuidRE.MatchString(nonce) {
		t.Fatalf("nonce %q is not a UUID", nonce)
	}
	if key := add(t, u, f.shares[1]); key != nil || u.Progress() != 2 || u.Nonce() != nonce {
		t.Fatalf("after two shares: key %x progress %d nonce %q", key, u.Progress(), u.Nonce())
	}
	key := add(t, u, f.shares[2])
	if !bytes.Equal(key, f.root) {
		t.Fatalf("combined key %x, want the root key", key)
	}
	if u.Progress() != 0 || u.Nonce() != "" {
		t.Fatalf("progress not reset after success: %d %q", u.Progress(), u.Nonce())
	}
	if err := f.barrier.Unseal(ctx, key); err != nil {
		t.Fatalf("barrier.Unseal with combined key: %v", err)
	}
	e, err := f.barrier.Get(ctx, "secret/db")
	if err != nil || e == nil || string(e.Value) != "s3cr3t" {
		t.Fatalf("Get after unseal = %v, %v", e, err)
	}
}

// TestEveryThresholdSubsetUnseals feeds every 3-of-5 combination, in order
// and reversed, through a fresh barrier instance.
func TestEveryThresholdSubsetUnseals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	for a := 0; a < 5; a++ {
		for b := a + 1; b < 5; b++ {
			for c := b + 1; c < 5; c++ {
				for _, order := range [][]int{{a, b, c}, {c, b, a}} {
					var key []byte
					for _, i := range order {
						key = add(t, u, f.shares[i])
					}
					if err := barrier.New(f.phys).Unseal(ctx, key); err != nil {
						t.Fatalf("shares %v: %v", order, err)
					}
				}
			}
		}
	}
}

// TestWrongShares feeds a threshold of shares one of which is wrong. With
// the key-encryption layer the Unsealer itself rejects them
// (ErrBadUnsealKey, progress reset); for a legacy seal it cannot tell, and
// barrier.Unseal rejects the key.
func TestWrongShares(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"wrapped", "legacy"} {
		f := newFixture(t, 5, 3)
		if mode == "legacy" {
			f = newLegacyFixture(t, inmem.New(), 5, 3)
		}
		other := newFixture(t, 5, 3) // shares of a different unseal key
		x := func(sh []byte) byte { return sh[len(sh)-1] }
		var foreign []byte
		for _, sh := range other.shares { // one whose x differs from shares 0 and 1
			if x(sh) != x(f.shares[0]) && x(sh) != x(f.shares[1]) {
				foreign = sh
				break
			}
		}
		forged := bytes.Clone(f.shares[2])
		forged[0] ^= 0xff // same x coordinate, wrong y
		tests := map[string][][]byte{
			"share from another cluster": {f.shares[0], f.shares[1], foreign},
			"altered share":              {f.shares[0], f.shares[1], forged},
		}
		for name, shares := range tests {
			t.Run(mode+"/"+name, func(t *testing.T) {
				u := f.seal.NewUnsealer()
				add(t, u, shares[0])
				add(t, u, shares[1])
				key, err := u.Add(ctx, shares[2])
				if u.Progress() != 0 {
					t.Fatalf("progress %d after the threshold", u.Progress())
				}
				if mode == "wrapped" {
					if !errors.Is(err, seal.ErrBadUnsealKey) || key != nil {
						t.Fatalf("Add = %x, %v; want ErrBadUnsealKey", key, err)
					}
					return
				}
				if err != nil || key == nil {
					t.Fatalf("legacy Add = %x, %v; want a (wrong) key", key, err)
				}
				if err := f.barrier.Unseal(ctx, key); !errors.Is(err, barrier.ErrBadRootKey) {
					t.Fatalf("barrier.Unseal = %v, want ErrBadRootKey", err)
				}
				if !f.barrier.Sealed() {
					t.Fatal("barrier unsealed with a wrong key")
				}
			})
		}
	}
}

// TestLegacySealUnseals: a seal written before the key-encryption layer
// (no wrapped root key) unseals with its shares, which are the root key.
func TestLegacySealUnseals(t *testing.T) {
	for _, n := range [][2]int{{5, 3}, {1, 1}} {
		t.Run(fmt.Sprintf("%d of %d", n[1], n[0]), func(t *testing.T) {
			f := newLegacyFixture(t, inmem.New(), n[0], n[1])
			key, err := f.addAll(t, f.shares[:n[1]])
			if err != nil || !bytes.Equal(key, f.root) {
				t.Fatalf("Add = %x, %v; want the root key", key, err)
			}
			f.unsealWith(t, f.shares[len(f.shares)-n[1]:])
		})
	}
}

func TestDuplicateShare(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	add(t, u, f.shares[0])
	nonce := u.Nonce()
	key, err := u.Add(ctx, bytes.Clone(f.shares[0]))
	if !errors.Is(err, seal.ErrDuplicateShare) || key != nil {
		t.Fatalf("Add(same share) = %x, %v; want ErrDuplicateShare", key, err)
	}
	if u.Progress() != 1 || u.Nonce() != nonce {
		t.Fatalf("duplicate changed progress: %d %q", u.Progress(), u.Nonce())
	}
	add(t, u, f.shares[1])
	if key := add(t, u, f.shares[3]); !bytes.Equal(key, f.root) {
		t.Fatal("unseal after a rejected duplicate did not yield the root key")
	}
}

func TestBadShareLength(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	add(t, u, f.shares[0])
	for _, n := range []int{0, 1, seal.RootKeySize, seal.RootKeySize + 2, 1024} {
		if _, err := u.Add(ctx, make([]byte, n)); !errors.Is(err, seal.ErrShareLength) {
			t.Fatalf("Add(%d bytes) = %v, want ErrShareLength", n, err)
		}
	}
	if u.Progress() != 1 {
		t.Fatalf("bad lengths changed progress to %d", u.Progress())
	}
}

// TestCombineErrorResets adds two different shares with the same x
// coordinate: the byte-wise duplicate check passes them, Combine rejects
// them, and the attempt starts over.
func TestCombineErrorResets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 2)
	twin := bytes.Clone(f.shares[0])
	twin[5] ^= 0x01
	u := f.seal.NewUnsealer()
	add(t, u, f.shares[0])
	key, err := u.Add(ctx, twin)
	if !errors.Is(err, seal.ErrCombine) || !errors.Is(err, shamir.ErrDuplicateShare) || key != nil {
		t.Fatalf("Add(twin) = %x, %v; want ErrCombine wrapping shamir.ErrDuplicateShare", key, err)
	}
	if u.Progress() != 0 || u.Nonce() != "" {
		t.Fatalf("progress not reset after combine error: %d %q", u.Progress(), u.Nonce())
	}
}

func TestReset(t *testing.T) {
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	add(t, u, f.shares[0])
	add(t, u, f.shares[1])
	first := u.Nonce()
	u.Reset()
	if u.Progress() != 0 || u.Nonce() != "" {
		t.Fatalf("after Reset: progress %d nonce %q", u.Progress(), u.Nonce())
	}
	// The shares given before Reset no longer count: three more are needed.
	add(t, u, f.shares[0])
	if u.Nonce() == first || u.Nonce() == "" {
		t.Fatalf("new attempt reused nonce %q", first)
	}
	if key := add(t, u, f.shares[1]); key != nil {
		t.Fatal("key returned with two shares after Reset")
	}
	if key := add(t, u, f.shares[2]); !bytes.Equal(key, f.root) {
		t.Fatal("no root key after three shares")
	}
}

func TestAddBeforeInit(t *testing.T) {
	u := seal.New(inmem.New()).NewUnsealer()
	if _, err := u.Add(context.Background(), make([]byte, 33)); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("Add before Init = %v, want ErrNotInitialized", err)
	}
}

// TestConcurrentAdds gives each of five goroutines one share of a 3-of-5
// split at once: exactly one of them gets the root key, and the two shares
// left over start a new attempt. Run with -race.
func TestConcurrentAdds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	u := f.seal.NewUnsealer()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		keys [][]byte
		errs []error
	)
	for _, sh := range f.shares {
		wg.Go(func() {
			key, err := u.Add(ctx, sh)
			_ = u.Progress()
			_ = u.Nonce()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if key != nil {
				keys = append(keys, key)
			}
		})
	}
	wg.Wait()
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(keys) != 1 || !bytes.Equal(keys[0], f.root) {
		t.Fatalf("got %d keys, want exactly one equal to the root key", len(keys))
	}
	if u.Progress() != 2 {
		t.Fatalf("leftover progress = %d, want 2", u.Progress())
	}
}
