package ssh_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// BenchmarkSign signs an ed25519 key with an ed25519 CA through
// HandleRequest (role load, CA load, checks, signature).
func BenchmarkSign(b *testing.B) {
	h := newHarness(b)
	h.configureCA("ed25519")
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice", "default_user": "alice"})
	data := map[string]any{"public_key": pubLine(b, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.do(logical.UpdateOperation, "sign/r", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRSA is BenchmarkSign with a 2048-bit RSA CA
// (rsa-sha2-256).
func BenchmarkSignRSA(b *testing.B) {
	h := newHarness(b)
	h.must(logical.UpdateOperation, "config/ca", map[string]any{"key_type": "rsa", "key_bits": 2048})
	h.must(logical.UpdateOperation, "roles/r", map[string]any{"key_type": "ca", "allow_user_certificates": true, "allowed_users": "alice", "default_user": "alice"})
	data := map[string]any{"public_key": pubLine(b, 0)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.do(logical.UpdateOperation, "sign/r", data); err != nil {
			b.Fatal(err)
		}
	}
}
