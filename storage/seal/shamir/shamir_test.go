package shamir_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"testing"

	"github.com/secretumvault/secretumvault/storage/seal/shamir"
)

func randomSecret(t testing.TB, n int) []byte {
	t.Helper()
	s := make([]byte, n)
	if _, err := rand.Read(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// subsets calls fn with every subset of {0..n-1} of exactly k elements.
func subsets(n, k int, fn func([]int)) {
	idx := make([]int, 0, k)
	var rec func(start int)
	rec = func(start int) {
		if len(idx) == k {
			fn(idx)
			return
		}
		for i := start; i < n; i++ {
			idx = append(idx, i)
			rec(i + 1)
			idx = idx[:len(idx)-1]
		}
	}
	rec(0)
}

func pick(shares [][]byte, idx []int) [][]byte {
	out := make([][]byte, len(idx))
	for i, j := range idx {
		out[i] = shares[j]
	}
	return out
}

func TestSplitShape(t *testing.T) {
	secret := randomSecret(t, 32)
	orig := bytes.Clone(secret)
	shares, err := shamir.Split(secret, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 5 {
		t.Fatalf("got %d shares, want 5", len(shares))
	}
	xs := map[byte]bool{}
	for i, s := range shares {
		if len(s) != len(secret)+1 {
			t.Fatalf("share %d has %d bytes, want %d", i, len(s), len(secret)+1)
		}
		x := s[len(s)-1]
		if x == 0 || xs[x] {
			t.Fatalf("share %d has bad or repeated x coordinate %d", i, x)
		}
		xs[x] = true
		if bytes.Equal(s[:len(secret)], secret) {
			t.Fatalf("share %d contains the secret in clear", i)
		}
	}
	if !bytes.Equal(secret, orig) {
		t.Fatal("Split modified the secret")
	}
}

// TestEverySubsetAtOrAboveThreshold enumerates every subset of size >=
// threshold for small parameter sets and checks each recovers the secret,
// and every subset of size threshold-1 (>= 2, as Combine needs) does not.
func TestEverySubsetAtOrAboveThreshold(t *testing.T) {
	params := []struct{ parts, threshold int }{
		{2, 2}, {3, 2}, {3, 3}, {5, 3}, {6, 4}, {7, 7}, {8, 3},
	}
	for _, p := range params {
		t.Run(fmt.Sprintf("%d-of-%d", p.threshold, p.parts), func(t *testing.T) {
			t.Parallel()
			for _, size := range []int{1, 16, 32} {
				secret := randomSecret(t, size)
				shares, err := shamir.Split(secret, p.parts, p.threshold)
				if err != nil {
					t.Fatal(err)
				}
				for k := p.threshold; k <= p.parts; k++ {
					subsets(p.parts, k, func(idx []int) {
						got, err := shamir.Combine(pick(shares, idx))
						if err != nil {
							t.Fatalf("Combine(%v): %v", idx, err)
						}
						if !bytes.Equal(got, secret) {
							t.Fatalf("Combine(%v) = %x, want %x", idx, got, secret)
						}
					})
				}
				// Below threshold: for a 16+ byte secret a match happens
				// with probability 2^-128, so any match is a bug.
				if k := p.threshold - 1; k >= 2 && size >= 16 {
					subsets(p.parts, k, func(idx []int) {
						got, err := shamir.Combine(pick(shares, idx))
						if err != nil {
							t.Fatalf("Combine(%v): %v", idx, err)
						}
						if bytes.Equal(got, secret) {
							t.Fatalf("Combine of %d < threshold %d shares %v recovered the secret", k, p.threshold, idx)
						}
					})
				}
			}
		})
	}
}

// TestRandomParams is a property test over random secrets, parameters and
// sampled subsets, up to the 255-share maximum.
func TestRandomParams(t *testing.T) {
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		parts := 2 + rng.IntN(254)
		threshold := 2 + rng.IntN(parts-1)
		secret := randomSecret(t, 16+rng.IntN(48))
		shares, err := shamir.Split(secret, parts, threshold)
		if err != nil {
			t.Fatalf("Split(%d, %d): %v", parts, threshold, err)
		}
		for s := 0; s < 3; s++ {
			k := threshold + rng.IntN(parts-threshold+1)
			idx := rng.Perm(parts)[:k]
			got, err := shamir.Combine(pick(shares, idx))
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("%d-of-%d with %d shares: got %x, %v", threshold, parts, k, got, err)
			}
			if threshold-1 >= 2 {
				idx = rng.Perm(parts)[:threshold-1]
				got, err = shamir.Combine(pick(shares, idx))
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(got, secret) {
					t.Fatalf("%d-of-%d: %d shares recovered the secret", threshold, parts, threshold-1)
				}
			}
		}
	}
}

func TestSplitRejects(t *testing.T) {
	secret := []byte("secret")
	tests := []struct {
		name             string
		secret           []byte
		parts, threshold int
		want             error
	}{
		{"empty secret", nil, 5, 3, shamir.ErrEmptySecret},
		{"threshold 1", secret, 5, 1, shamir.ErrInvalidParams},
		{"threshold 0", secret, 5, 0, shamir.ErrInvalidParams},
		{"negative threshold", secret, 5, -1, shamir.ErrInvalidParams},
		{"threshold above parts", secret, 3, 4, shamir.ErrInvalidParams},
		{"too many parts", secret, 256, 3, shamir.ErrInvalidParams},
		{"one part", secret, 1, 1, shamir.ErrInvalidParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shares, err := shamir.Split(tc.secret, tc.parts, tc.threshold)
			if !errors.Is(err, tc.want) || shares != nil {
				t.Fatalf("Split = %d shares, %v; want %v", len(shares), err, tc.want)
			}
		})
	}
	if _, err := shamir.Split(secret, 255, 255); err != nil {
		t.Fatalf("255-of-255 rejected: %v", err)
	}
}

func TestCombineRejects(t *testing.T) {
	shares, err := shamir.Split([]byte("hello world"), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	sameX := bytes.Clone(shares[1])
	sameX[len(sameX)-1] = shares[0][len(shares[0])-1]
	zeroX := bytes.Clone(shares[1])
	zeroX[len(zeroX)-1] = 0
	tests := []struct {
		name  string
		parts [][]byte
		want  error
	}{
		{"nil", nil, shamir.ErrTooFewParts},
		{"one share", shares[:1], shamir.ErrTooFewParts},
		{"short shares", [][]byte{{1}, {2}}, shamir.ErrShareLength},
		{"empty shares", [][]byte{{}, {}}, shamir.ErrShareLength},
		{"mismatched lengths", [][]byte{shares[0], shares[1][1:]}, shamir.ErrShareLength},
		{"same share twice", [][]byte{shares[0], shares[0]}, shamir.ErrDuplicateShare},
		{"duplicate x", [][]byte{shares[0], sameX}, shamir.ErrDuplicateShare},
		{"zero x", [][]byte{shares[0], zeroX}, shamir.ErrZeroCoordinate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := shamir.Combine(tc.parts)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("Combine = %x, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCombineDoesNotModifyShares(t *testing.T) {
	shares, err := shamir.Split([]byte("do not touch"), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	copies := make([][]byte, len(shares))
	for i := range shares {
		copies[i] = bytes.Clone(shares[i])
	}
	if _, err := shamir.Combine(shares); err != nil {
		t.Fatal(err)
	}
	for i := range shares {
		if !bytes.Equal(shares[i], copies[i]) {
			t.Fatalf("share %d modified", i)
		}
	}
}

// TestSplitIsRandomized guards against a constant coefficient source: two
// splits of one secret must not produce the same shares.
func TestSplitIsRandomized(t *testing.T) {
	secret := randomSecret(t, 32)
	a, err := shamir.Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := shamir.Split(secret, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[0], b[0]) && bytes.Equal(a[1], b[1]) && bytes.Equal(a[2], b[2]) {
		t.Fatal("two splits of the same secret are identical")
	}
}

func FuzzCombine(f *testing.F) {
	shares, err := shamir.Split([]byte("fuzz seed secret"), 3, 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shares[0], shares[1], shares[2])
	f.Add([]byte{}, []byte{1}, []byte{1, 2})
	f.Add([]byte{0, 0}, []byte{0, 0}, []byte{1, 1})
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		got, err := shamir.Combine([][]byte{a, b, c})
		if err == nil && len(got) != len(a)-1 {
			t.Fatalf("Combine returned %d bytes for %d-byte shares", len(got), len(a))
		}
		if got, err := shamir.Combine([][]byte{a, b}); err == nil && len(got) != len(a)-1 {
			t.Fatalf("Combine returned %d bytes for %d-byte shares", len(got), len(a))
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	secret := randomSecret(b, 32)
	b.SetBytes(int64(len(secret)))
	for b.Loop() {
		if _, err := shamir.Split(secret, 5, 3); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCombine(b *testing.B) {
	secret := randomSecret(b, 32)
	shares, err := shamir.Split(secret, 5, 3)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(secret)))
	for b.Loop() {
		if _, err := shamir.Combine(shares[:3]); err != nil {
			b.Fatal(err)
		}
	}
}
