package transit_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func benchPayload(b *testing.B) string {
	b.Helper()
	buf := make([]byte, 1024)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return b64(buf)
}

// BenchmarkEncrypt1KiB encrypts 1 KiB with an aes256-gcm96 key through
// HandleRequest (routing, field decoding, cached key).
func BenchmarkEncrypt1KiB(b *testing.B) {
	h := newHarness(b)
	h.write("keys/k", nil)
	pt := benchPayload(b)
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		_, err := h.b.HandleRequest(ctx, &logical.Request{
			Operation: logical.UpdateOperation, Path: "encrypt/k", Storage: h.store,
			Data: map[string]any{"plaintext": pt},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt1KiB decrypts a 1 KiB ciphertext the same way.
func BenchmarkDecrypt1KiB(b *testing.B) {
	h := newHarness(b)
	h.write("keys/k", nil)
	ct := h.write("encrypt/k", map[string]any{"plaintext": benchPayload(b)}).Data["ciphertext"].(string)
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		_, err := h.b.HandleRequest(ctx, &logical.Request{
			Operation: logical.UpdateOperation, Path: "decrypt/k", Storage: h.store,
			Data: map[string]any{"ciphertext": ct},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
