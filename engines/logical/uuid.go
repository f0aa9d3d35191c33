package logical

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// NewUUID returns a random RFC 4122 (RFC 9562) version 4 UUID in its
// canonical 36-character lower-case form, e.g.
// "0b5bdf66-2a52-4ac9-8f3b-4bd5c7a1e2d0": 122 bits from crypto/rand, the
// version nibble set to 4 and the variant bits to 10.
//
// It is the one UUID generator of the server: request ids, mount uuids and
// accessors, and any id an engine hands out. The error is returned only if
// the system's random source fails (on current platforms crypto/rand
// aborts the process instead, so callers may treat it as fatal).
func NewUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("logical: uuid: %w", err)
	}
	return formatUUID(b), nil
}

// MustUUID is NewUUID for callers with no error path, such as request ids
// minted at the edge. It panics if the random source fails.
func MustUUID() string {
	id, err := NewUUID()
	if err != nil {
		panic(err)
	}
	return id
}

// formatUUID sets the version 4 and RFC 4122 variant bits of b and renders
// it as 8-4-4-4-12 lower-case hex.
func formatUUID(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
