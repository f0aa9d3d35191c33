// Package shamir implements Shamir's secret sharing over GF(2^8).
//
// Each byte of the secret is the constant term of its own random polynomial
// of degree threshold-1; a share holds that polynomial evaluated at one
// non-zero x coordinate for every byte, followed by the x coordinate itself.
// A share is therefore len(secret)+1 bytes, the same layout and field
// (AES polynomial x^8+x^4+x^3+x+1) as Vault's shamir package, so shares are
// interchangeable with it.
//
// Field arithmetic is constant-time: multiplication runs a fixed number of
// shift/xor steps with masks instead of branches or table look-ups indexed by
// secret bytes, and inversion is a fixed exponentiation a^254.
package shamir

import (
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
)

// Sentinel errors returned by Split and Combine.
var (
	// ErrInvalidParams is returned by Split for a bad parts/threshold pair
	// (2 <= threshold <= parts <= 255 is required).
	ErrInvalidParams = errors.New("shamir: invalid parts or threshold")
	// ErrEmptySecret is returned by Split for a zero-length secret.
	ErrEmptySecret = errors.New("shamir: secret is empty")
	// ErrTooFewParts is returned by Combine with fewer than two shares.
	ErrTooFewParts = errors.New("shamir: at least two shares are required")
	// ErrShareLength is returned by Combine when a share is shorter than two
	// bytes or the shares differ in length.
	ErrShareLength = errors.New("shamir: shares must be equal length and at least two bytes")
	// ErrDuplicateShare is returned by Combine when two shares carry the same
	// x coordinate.
	ErrDuplicateShare = errors.New("shamir: duplicate share x coordinate")
	// ErrZeroCoordinate is returned by Combine for a share whose x coordinate
	// is zero; Split never produces one (it would be the secret itself).
	ErrZeroCoordinate = errors.New("shamir: share x coordinate is zero")
)

// MaxParts is the largest number of shares Split can produce: one per
// non-zero element of GF(2^8).
const MaxParts = 255

// Split divides secret into parts shares, any threshold of which recover it
// with Combine and any fewer of which reveal nothing about it. The caller
// owns the returned shares; secret is not modified or retained.
func Split(secret []byte, parts, threshold int) ([][]byte, error) {
	switch {
	case len(secret) == 0:
		return nil, ErrEmptySecret
	case threshold < 2 || parts < threshold || parts > MaxParts:
		return nil, fmt.Errorf("%w: parts=%d threshold=%d", ErrInvalidParams, parts, threshold)
	}
	xs, err := randomCoordinates(parts)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, parts)
	for i := range out {
		out[i] = make([]byte, len(secret)+1)
		out[i][len(secret)] = xs[i]
	}
	// coeffs[0] is the secret byte, coeffs[1:] are random.
	coeffs := make([]byte, threshold)
	defer clear(coeffs)
	for idx, s := range secret {
		if _, err := rand.Read(coeffs[1:]); err != nil {
			return nil, fmt.Errorf("shamir: generating coefficients: %w", err)
		}
		coeffs[0] = s
		for i, x := range xs {
			out[i][idx] = evaluate(coeffs, x)
		}
	}
	return out, nil
}

// Combine recovers the secret from shares produced by Split. With at least
// threshold distinct shares of one split it returns the secret; with fewer
// it returns unrelated bytes (it cannot tell). Shares are not modified.
func Combine(parts [][]byte) ([]byte, error) {
	if len(parts) < 2 {
		return nil, ErrTooFewParts
	}
	n := len(parts[0])
	if n < 2 {
		return nil, ErrShareLength
	}
	xs := make([]byte, len(parts))
	var seen [256]bool
	for i, p := range parts {
		if len(p) != n {
			return nil, ErrShareLength
		}
		x := p[n-1]
		if x == 0 {
			return nil, ErrZeroCoordinate
		}
		if seen[x] {
			return nil, ErrDuplicateShare
		}
		seen[x] = true
		xs[i] = x
	}
	basis := lagrangeAtZero(xs)
	secret := make([]byte, n-1)
	for idx := range secret {
		var acc byte
		for i, p := range parts {
			acc ^= mul(p[idx], basis[i])
		}
		secret[idx] = acc
	}
	return secret, nil
}

// lagrangeAtZero returns, for each x_i, the Lagrange basis polynomial
// l_i(0) = prod_{j != i} x_j / (x_j - x_i). In GF(2^8) subtraction is xor.
func lagrangeAtZero(xs []byte) []byte {
	basis := make([]byte, len(xs))
	for i, xi := range xs {
		num, den := byte(1), byte(1)
		for j, xj := range xs {
			if i == j {
				continue
			}
			num = mul(num, xj)
			den = mul(den, xi^xj)
		}
		basis[i] = div(num, den)
	}
	return basis
}

// evaluate returns the polynomial with the given coefficients (constant term
// first) at x, by Horner's rule.
func evaluate(coeffs []byte, x byte) byte {
	var acc byte
	for i := len(coeffs) - 1; i >= 0; i-- {
		acc = mul(acc, x) ^ coeffs[i]
	}
	return acc
}

// randomCoordinates returns n distinct non-zero x coordinates in random
// order, drawn with a ChaCha8 generator seeded from crypto/rand.
func randomCoordinates(n int) ([]byte, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("shamir: seeding coordinates: %w", err)
	}
	rng := mathrand.New(mathrand.NewChaCha8(seed))
	clear(seed[:])
	perm := rng.Perm(MaxParts)
	xs := make([]byte, n)
	for i := range xs {
		xs[i] = byte(perm[i] + 1)
	}
	return xs, nil
}

// mul multiplies in GF(2^8) modulo x^8+x^4+x^3+x+1 in constant time.
func mul(a, b byte) byte {
	var r byte
	for i := 7; i >= 0; i-- {
		// r = r*x (reduced) + bit_i(b)*a, all through masks.
		r = (r << 1) ^ (-(r >> 7) & 0x1b)
		r ^= -((b >> uint(i)) & 1) & a
	}
	return r
}

// inv returns a^-1 = a^254 (inv(0) = 0) with a fixed sequence of
// multiplications.
func inv(a byte) byte {
	// 254 = 0b11111110: square-and-multiply over a fixed bit pattern.
	r := byte(1)
	for i := 7; i >= 0; i-- {
		r = mul(r, r)
		if (254>>uint(i))&1 == 1 { // depends on the public exponent only
			r = mul(r, a)
		}
	}
	return r
}

// div returns a/b in GF(2^8); b must be non-zero (callers guarantee it).
func div(a, b byte) byte {
	return mul(a, inv(b))
}
