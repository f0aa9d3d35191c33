package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// RootKeySize is the size of a device's HMAC root key.
const RootKeySize = 32

// hmacPrefix marks an HMAC'd value, as in Vault.
const hmacPrefix = "hmac-sha256:"

// keyLabel is the derivation label of a generation key.
const keyLabel = "secretum-audit-hmac"

// deriveKey returns key_g = HMAC-SHA256(root, "secretum-audit-hmac" ||
// uint64-big-endian(g)).
func deriveKey(root []byte, gen uint64) []byte {
	m := hmac.New(sha256.New, root)
	m.Write([]byte(keyLabel))
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], gen)
	m.Write(g[:])
	return m.Sum(nil)
}

// hmacLen is the length of an HMAC'd value, "hmac-sha256:<hex>".
const hmacLen = len(hmacPrefix) + 2*sha256.Size

// maxKeptScratch bounds the input buffer a hasher keeps between values.
const maxKeptScratch = 64 << 10

// hasher HMACs values under one generation key, reusing one HMAC state
// (crypto/hmac restores its precomputed pads on Reset) and buffers: a
// value costs no allocation. It is not safe for concurrent use.
type hasher struct {
	mac    hash.Hash
	digest [sha256.Size]byte
	in     []byte // a string value's bytes (hash.Hash takes a []byte)
}

// newHasher returns a hasher for a generation key.
func newHasher(key []byte) *hasher {
	return &hasher{mac: hmac.New(sha256.New, key)}
}

// sum appends "hmac-sha256:<hex>" of b to dst.
func (h *hasher) sum(dst, b []byte) []byte {
	h.mac.Reset()
	h.mac.Write(b)
	dst = append(dst, hmacPrefix...)
	return hex.AppendEncode(dst, h.mac.Sum(h.digest[:0]))
}

// sumString is sum of a string.
func (h *hasher) sumString(dst []byte, s string) []byte {
	h.in = append(h.in[:0], s...)
	dst = h.sum(dst, h.in)
	if cap(h.in) > maxKeptScratch {
		h.in = nil
	}
	return dst
}

// hmacString returns "hmac-sha256:<hex>" of v.
func (h *hasher) hmacString(v string) string {
	var out [hmacLen]byte
	return string(h.sumString(out[:0], v))
}

// Hash returns the value an entry written under key generation gen holds
// for the plaintext value ("hmac-sha256:<hex>"), so an operator can search
// a log for a known value (sys/audit-hash). A non-string leaf of request
// or response data is HMAC'd as its JSON encoding (the number 42 as "42").
func Hash(root []byte, gen uint64, value string) (string, error) {
	if len(root) != RootKeySize {
		return "", fmt.Errorf("%w: audit: root key must be %d bytes", logical.ErrInvalidRequest, RootKeySize)
	}
	return newHasher(deriveKey(root, gen)).hmacString(value), nil
}
