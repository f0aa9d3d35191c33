package keypair

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func TestNonceStoreGlobalCap(t *testing.T) {
	s := newNonceStore()
	now := time.Unix(1_000_000, 0)
	for i := range MaxNonces {
		if _, _, err := s.issue("n"+strconv.Itoa(i%(MaxNonces/MaxNoncesPerName)), now, time.Minute); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	if _, _, err := s.issue("fresh", now, time.Minute); !errors.Is(err, logical.ErrRateLimited) {
		t.Fatalf("nonce past MaxNonces = %v, want ErrRateLimited", err)
	}
	if _, ok := s.byName["fresh"]; ok {
		t.Fatal("a refused name left an entry behind")
	}
	// Everything expires at once; the queue and the maps empty.
	later := now.Add(time.Minute)
	if _, _, err := s.issue("fresh", later, time.Minute); err != nil {
		t.Fatalf("nonce after expiry: %v", err)
	}
	if got := len(s.queue) - s.head; got != 1 || len(s.byName) != 1 || s.outstanding(later) != 1 {
		t.Fatalf("after expiry: queue %d, names %d, outstanding %d; want 1, 1, 1", got, len(s.byName), s.outstanding(later))
	}
	if s.head != 0 {
		t.Fatalf("queue was not compacted (head %d)", s.head)
	}
}

func TestNonceStoreConsume(t *testing.T) {
	s := newNonceStore()
	now := time.Unix(1_000_000, 0)
	n, exp, err := s.issue("alice", now, time.Minute)
	if err != nil || !exp.Equal(now.Add(time.Minute)) || !validNonce(n) {
		t.Fatalf("issue = %q, %v, %v", n, exp, err)
	}
	if _, ok := s.consume("bob", n, now); ok {
		t.Fatal("consumed another name's nonce")
	}
	issued, ok := s.consume("alice", n, now.Add(59*time.Second))
	if !ok || !issued.Equal(now) {
		t.Fatalf("consume = %v, %v", issued, ok)
	}
	if _, ok := s.consume("alice", n, now); ok {
		t.Fatal("consumed a nonce twice")
	}
	n, _, _ = s.issue("alice", now, time.Minute)
	if _, ok := s.consume("alice", n, now.Add(time.Minute)); ok {
		t.Fatal("consumed an expired nonce")
	}
	if len(s.byName) != 0 {
		t.Fatalf("names left behind: %v", s.byName)
	}
}

// TestSmallOrderTable checks the premise of the table (the identity
// point as a public key accepts a forged signature for any message),
// that every entry is refused with either sign bit, and that a real key
// is not in the table.
func TestSmallOrderTable(t *testing.T) {
	if len(smallOrderY) != 7 {
		t.Fatalf("%d entries", len(smallOrderY))
	}
	identity, _ := hex.DecodeString("0100000000000000000000000000000000000000000000000000000000000000")
	forged := append(append([]byte{}, identity...), make([]byte, 32)...)
	if !ed25519.Verify(identity, []byte("anything"), forged) {
		t.Fatal("the identity key does not accept the forged signature: the premise of the table is wrong")
	}
	for _, y := range smallOrderY {
		for _, sign := range []byte{0, 0x80} {
			k := y
			k[31] |= sign
			var ire *logical.InvalidRequestError
			if _, err := ParsePublicKey(base64.StdEncoding.EncodeToString(k[:])); !errors.As(err, &ire) || !strings.Contains(ire.Message, "small-order") {
				t.Errorf("ParsePublicKey(%x) = %v, want the small-order refusal", k, err)
			}
			if !isSmallOrder(k[:]) {
				t.Errorf("isSmallOrder(%x) = false", k)
			}
		}
	}
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil || isSmallOrder(pub) {
		t.Fatalf("a random key is small-order: %v", err)
	}
}
