package seal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
	"github.com/secretumvault/secretumvault/storage/inmem"
	"github.com/secretumvault/secretumvault/storage/seal"
)

// snapshot returns every physical key and value, to show an operation
// changed nothing.
func snapshot(t *testing.T, phys storage.Backend) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var walk func(prefix string)
	walk = func(prefix string) {
		keys, err := phys.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k[len(k)-1] == '/' {
				walk(prefix + k)
				continue
			}
			e, err := phys.Get(ctx, prefix+k)
			if err != nil {
				t.Fatal(err)
			}
			out[prefix+k] = string(e.Value)
		}
	}
	walk("")
	return out
}

func sameSnapshot(a, b map[string]string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func fixtureFor(t *testing.T, mode string, n, k int) *fixture {
	t.Helper()
	if mode == "legacy" {
		return newLegacyFixture(t, inmem.New(), n, k)
	}
	return newFixture(t, n, k)
}

func TestVerifierCompletes(t *testing.T) {
	for _, mode := range []string{"wrapped", "legacy"} {
		for _, n := range [][2]int{{5, 3}, {3, 3}, {1, 1}} {
			t.Run(fmt.Sprintf("%s/%d of %d", mode, n[1], n[0]), func(t *testing.T) {
				ctx := context.Background()
				f := fixtureFor(t, mode, n[0], n[1])
				before := snapshot(t, f.phys)
				v, err := f.seal.NewVerifier()
				if err != nil {
					t.Fatal(err)
				}
				if !uuidRE.MatchString(v.Nonce()) {
					t.Fatalf("nonce %q is not a UUID", v.Nonce())
				}
				st, err := v.Status(ctx)
				if err != nil || st != (seal.VerifyStatus{Nonce: v.Nonce(), Required: n[1]}) {
					t.Fatalf("Status = %+v, %v", st, err)
				}
				shares := f.shares[len(f.shares)-n[1]:]
				for i, sh := range shares {
					st, err = v.Add(ctx, sh, v.Nonce())
					if err != nil {
						t.Fatalf("Add(share %d): %v", i, err)
					}
					last := i == len(shares)-1
					if st.Complete != last || (!last && st.Progress != i+1) {
						t.Fatalf("after %d shares: %+v", i+1, st)
					}
				}
				if st != (seal.VerifyStatus{Nonce: v.Nonce(), Progress: n[1], Required: n[1], Complete: true}) {
					t.Fatalf("final status %+v", st)
				}
				if _, err := v.Add(ctx, f.shares[0], v.Nonce()); !errors.Is(err, seal.ErrAttemptComplete) {
					t.Fatalf("Add after completion = %v, want ErrAttemptComplete", err)
				}
				if !f.barrier.Sealed() || !sameSnapshot(before, snapshot(t, f.phys)) {
					t.Fatal("verification unsealed or changed something")
				}
				other, _ := f.seal.NewVerifier()
				if other.Nonce() == v.Nonce() {
					t.Fatal("two attempts share a nonce")
				}
			})
		}
	}
}

// TestVerifierRejects checks every way a share can be refused and whether
// progress survives it. Unlike the Unsealer, the Verifier catches wrong
// shares of a legacy seal too, by opening the keyring.
func TestVerifierRejects(t *testing.T) {
	for _, mode := range []string{"wrapped", "legacy"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			f := fixtureFor(t, mode, 5, 3)
			other := newFixture(t, 5, 3)
			v, _ := f.seal.NewVerifier()
			nonce := v.Nonce()
			mustAdd := func(sh []byte) {
				t.Helper()
				if _, err := v.Add(ctx, sh, nonce); err != nil {
					t.Fatal(err)
				}
			}
			mustAdd(f.shares[0])
			kept := []struct {
				name  string
				share []byte
				nonce string
				want  error
			}{
				{"wrong nonce", f.shares[1], "not-the-nonce", seal.ErrNonce},
				{"empty nonce", f.shares[1], "", seal.ErrNonce},
				{"duplicate", bytes.Clone(f.shares[0]), nonce, seal.ErrDuplicateShare},
				{"too short", f.shares[1][:seal.RootKeySize], nonce, seal.ErrShareLength},
				{"too long", append(bytes.Clone(f.shares[1]), 0), nonce, seal.ErrShareLength},
			}
			for _, tc := range kept {
				st, err := v.Add(ctx, tc.share, tc.nonce)
				if !errors.Is(err, tc.want) || st.Progress != 1 || st.Complete {
					t.Fatalf("%s: Add = %+v, %v; want %v with progress 1", tc.name, st, err, tc.want)
				}
			}
			mustAdd(f.shares[1])
			st, err := v.Add(ctx, foreignShare(f, other), nonce)
			if !errors.Is(err, seal.ErrBadUnsealKey) || st.Progress != 0 || st.Complete {
				t.Fatalf("foreign share at the threshold: %+v, %v; want ErrBadUnsealKey, progress 0", st, err)
			}
			twin := bytes.Clone(f.shares[0])
			twin[3] ^= 1
			mustAdd(f.shares[0])
			mustAdd(twin)
			if st, err := v.Add(ctx, f.shares[2], nonce); !errors.Is(err, seal.ErrCombine) || st.Progress != 0 {
				t.Fatalf("two shares with one x: %+v, %v; want ErrCombine, progress 0", st, err)
			}
			for _, sh := range f.shares[2:] {
				mustAdd(sh)
			}
			if st, _ := v.Status(ctx); !st.Complete {
				t.Fatalf("right shares after rejections did not complete: %+v", st)
			}
		})
	}
}

// foreignShare returns a share of other whose x coordinate differs from
// f's first two shares.
func foreignShare(f, other *fixture) []byte {
	x := func(sh []byte) byte { return sh[len(sh)-1] }
	for _, sh := range other.shares {
		if x(sh) != x(f.shares[0]) && x(sh) != x(f.shares[1]) {
			return sh
		}
	}
	panic("no foreign share")
}

func TestVerifierReset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 5, 3)
	v, _ := f.seal.NewVerifier()
	for _, sh := range f.shares[:2] {
		if _, err := v.Add(ctx, sh, v.Nonce()); err != nil {
			t.Fatal(err)
		}
	}
	nonce := v.Nonce()
	v.Reset()
	if st, _ := v.Status(ctx); st.Progress != 0 || st.Nonce != nonce {
		t.Fatalf("after Reset: %+v", st)
	}
	if st, err := v.Add(ctx, f.shares[2], nonce); err != nil || st.Complete || st.Progress != 1 {
		t.Fatalf("one share after Reset: %+v, %v", st, err)
	}
}

func TestVerifierBeforeInit(t *testing.T) {
	ctx := context.Background()
	v, err := seal.New(inmem.New()).NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(ctx, make([]byte, 33), v.Nonce()); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("Add before Init = %v", err)
	}
	if _, err := v.Status(ctx); !errors.Is(err, seal.ErrNotInitialized) {
		t.Fatalf("Status before Init = %v", err)
	}
}
