package kv_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// secret1KiB is a secret of about 1 KiB of JSON.
func secret1KiB() map[string]any {
	return map[string]any{
		"username": "svc-payments",
		"password": strings.Repeat("p", 512),
		"api_key":  strings.Repeat("k", 448),
	}
}

func BenchmarkPut(b *testing.B) {
	h := newHarness(b)
	body := map[string]any{"data": secret1KiB()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Spread over 100 keys so max_versions trimming is part of the cost.
		if _, err := h.do(logical.UpdateOperation, fmt.Sprintf("data/app/%d", i%100), body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet reads the latest and the oldest version of a key with 1
// and 20 versions: the cost must not grow with the version count (only
// the metadata entry grows, by a few dozen bytes a version).
func BenchmarkGet(b *testing.B) {
	for _, versions := range []int{1, 20} {
		for _, which := range []string{"latest", "oldest"} {
			b.Run(fmt.Sprintf("versions=%d/%s", versions, which), func(b *testing.B) {
				h := newHarness(b)
				h.must(logical.UpdateOperation, "config", map[string]any{"max_versions": versions})
				for i := 0; i < versions; i++ {
					h.put("app/db", secret1KiB())
				}
				query := map[string]any{}
				if which == "oldest" {
					query["version"] = 1
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := h.do(logical.ReadOperation, "data/app/db", query); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
