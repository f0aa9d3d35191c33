package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
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

// hasher HMACs values under one generation key; it is not safe for
// concurrent use (the writer goroutine owns its one).
type hasher struct {
	mac hash.Hash
	sum [sha256.Size]byte
	out [len(hmacPrefix) + 2*sha256.Size]byte
}

// newHasher returns a hasher for a generation key.
func newHasher(key []byte) *hasher {
	h := &hasher{mac: hmac.New(sha256.New, key)}
	copy(h.out[:], hmacPrefix)
	return h
}

// hmacString returns "hmac-sha256:<hex>" of v.
func (h *hasher) hmacString(v string) string {
	h.mac.Reset()
	h.mac.Write([]byte(v))
	hex.Encode(h.out[len(hmacPrefix):], h.mac.Sum(h.sum[:0]))
	return string(h.out[:])
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

// hmacValue returns a copy of a data tree with every leaf replaced by its
// HMAC: maps and lists keep their keys and shape, a string leaf is HMAC'd
// as is, any other leaf as its JSON encoding, nil stays nil. The input is
// only read.
func hmacValue(h *hasher, v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return hmacMap(h, t)
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = hmacValue(h, x)
		}
		return l
	case []string:
		l := make([]string, len(t))
		for i, x := range t {
			l[i] = h.hmacString(x)
		}
		return l
	case map[string]string:
		m := make(map[string]string, len(t))
		for k, x := range t {
			m[k] = h.hmacString(x)
		}
		return m
	case string:
		return h.hmacString(t)
	case json.Number:
		return h.hmacString(t.String())
	default:
		b, err := json.Marshal(t)
		if err != nil {
			// An unencodable value is still recorded, without content.
			b = []byte(fmt.Sprintf("%T", t))
		}
		return h.hmacString(string(b))
	}
}

// hmacMap is hmacValue for a map (nil stays nil).
func hmacMap(h *hasher, m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = hmacValue(h, x)
	}
	return out
}
