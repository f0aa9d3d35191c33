package token

import (
	"crypto/rand"
	"fmt"
)

const (
	base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tokenLen  = 32 // base62 characters after the prefix: ~190 bits
	accessLen = 24 // base62 characters of an accessor: ~142 bits
)

// randomBase62 returns n uniformly random base62 characters from
// crypto/rand (rejection sampling keeps the distribution uniform).
func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("token: random: %w", err)
		}
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: larger values would bias the modulus
				continue
			}
			out = append(out, base62[b%62])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

// newRawToken returns a fresh raw token.
func newRawToken() (string, error) {
	r, err := randomBase62(tokenLen)
	if err != nil {
		return "", err
	}
	return Prefix + r, nil
}

// newAccessor returns a fresh accessor.
func newAccessor() (string, error) {
	return randomBase62(accessLen)
}
