package logical_test

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// canonicalV4 is the 8-4-4-4-12 lower-case form with version 4 and the
// RFC 4122 variant (8, 9, a or b in the first nibble of the fourth group).
var canonicalV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewUUID(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	// ones and zeros count, per bit position of the 122 random bits, how
	// often it was set: every position must vary across n draws.
	var ones [16]byte
	var zeros [16]byte
	for i := 0; i < n; i++ {
		id, err := logical.NewUUID()
		if err != nil {
			t.Fatal(err)
		}
		if !canonicalV4.MatchString(id) {
			t.Fatalf("NewUUID() = %q, not a canonical version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewUUID() repeated %q after %d calls", id, i)
		}
		seen[id] = true
		raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
		if err != nil || len(raw) != 16 {
			t.Fatalf("NewUUID() = %q does not decode to 16 bytes: %v", id, err)
		}
		if v := raw[6] >> 4; v != 4 {
			t.Fatalf("%q: version %d, want 4", id, v)
		}
		if v := raw[8] >> 6; v != 0b10 {
			t.Fatalf("%q: variant bits %02b, want 10", id, v)
		}
		for j, c := range raw {
			ones[j] |= c
			zeros[j] |= ^c
		}
	}
	for j := range ones {
		fixed := byte(0)
		switch j {
		case 6:
			fixed = 0xf0 // version nibble
		case 8:
			fixed = 0xc0 // variant bits
		}
		if varying := ones[j] & zeros[j]; varying|fixed != 0xff {
			t.Errorf("byte %d: bits %08b never varied over %d UUIDs", j, ^(varying | fixed), n)
		}
	}
}

func TestMustUUID(t *testing.T) {
	a, b := logical.MustUUID(), logical.MustUUID()
	if !canonicalV4.MatchString(a) || !canonicalV4.MatchString(b) || a == b {
		t.Fatalf("MustUUID() = %q, %q", a, b)
	}
}
