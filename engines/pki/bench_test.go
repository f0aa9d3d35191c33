package pki_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

func benchmarkIssue(b *testing.B, keyType string) {
	h := newHarness(b)
	h.write("root/generate/internal", map[string]any{"common_name": "Root", "key_type": keyType, "ttl": "8760h"})
	h.write("roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": keyType})
	data := map[string]any{"common_name": "www.example.com", "ttl": "1h"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.do(logical.UpdateOperation, "issue/web", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueEC256(b *testing.B)   { benchmarkIssue(b, "ec") }
func BenchmarkIssueEd25519(b *testing.B) { benchmarkIssue(b, "ed25519") }
