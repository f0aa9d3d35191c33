package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"slices"

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

// snapshot copies a data tree into one the device owns: maps and lists
// are copied with their keys, and every leaf becomes its plaintext string
// form (strings as is, other values as their JSON encoding; nil stays
// nil). hmacTree later replaces each leaf with its HMAC.
func snapshot(v any) any {
	switch t := v.(type) {
	case nil:
		return nil
	case map[string]any:
		if t == nil {
			return nil
		}
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = snapshot(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = snapshot(x)
		}
		return l
	case []string:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = x
		}
		return l
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = x
		}
		return m
	case string:
		return t
	case json.Number:
		return t.String()
	default:
		b, err := json.Marshal(t)
		if err != nil {
			// An unencodable value is still recorded, without content.
			return fmt.Sprintf("%T", t)
		}
		return string(b)
	}
}

// snapshotMap is snapshot for a top-level data map.
func snapshotMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	s, _ := snapshot(m).(map[string]any)
	return s
}

// hmacTree replaces, in place, every string leaf of a snapshot tree with
// its HMAC.
func hmacTree(h *hasher, v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = hmacTree(h, x)
		}
		return t
	case []any:
		for i, x := range t {
			t[i] = hmacTree(h, x)
		}
		return t
	case string:
		return h.hmacString(t)
	default:
		return t
	}
}

// ownEntry returns a copy of e that shares nothing mutable with it.
func ownEntry(e *Entry) *Entry {
	c := *e
	c.RequestData = snapshotMap(e.RequestData)
	c.ResponseData = snapshotMap(e.ResponseData)
	c.Auth.Policies = slices.Clone(e.Auth.Policies)
	c.Auth.Metadata = maps.Clone(e.Auth.Metadata)
	c.Decision.PolicyIDs = slices.Clone(e.Decision.PolicyIDs)
	return &c
}
