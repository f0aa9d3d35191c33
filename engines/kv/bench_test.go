package kv_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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

// BenchmarkRotationTargets10k lists the rotation targets of a mount of
// 10,000 secrets in 100 directories (one metadata read per secret).
func BenchmarkRotationTargets10k(b *testing.B) {
	h, _ := newRotationHarness(b)
	for i := range 10_000 {
		h.put(fmt.Sprintf("app%02d/secret%04d", i%100, i), map[string]any{"password": "p"})
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ts, err := h.b.RotationTargets(ctx, h.store)
		if err != nil || len(ts) != 10_000 {
			b.Fatalf("%d targets, %v", len(ts), err)
		}
	}
}

// BenchmarkRotate rotates secrets of two keys (32 alphanumeric
// characters each) through Rotate, over 100 secrets so that max_versions
// trimming is part of the cost; rotations/s is reported.
func BenchmarkRotate(b *testing.B) {
	h, _ := newRotationHarness(b)
	for i := range 100 {
		h.putSpec(fmt.Sprintf("app/%d", i), map[string]any{"user": "u", "password": "p"}, map[string]any{"rotate_length": "32"})
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; b.Loop(); i++ {
		if _, err := h.b.Rotate(ctx, h.store, fmt.Sprintf("data/app/%d", i%100)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rotations/s")
}
