package core_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// BenchmarkKVv2 measures KV v2 writes and reads through the whole core
// pipeline (token authentication, routing, kv engine, barrier, inmem).
func BenchmarkKVv2(b *testing.B) {
	c, res := newCore(b)
	root := res.RootToken
	if _, err := do(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat("x", 1024)
	for i := range 1000 {
		path := fmt.Sprintf("secret/data/bench/%d", i)
		if _, err := do(b, c, root, logical.UpdateOperation, path, map[string]any{"data": map[string]any{"v": value}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("put", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			path := fmt.Sprintf("secret/data/bench/%d", i%1000)
			if _, err := do(b, c, root, logical.UpdateOperation, path, map[string]any{"data": map[string]any{"v": value}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			path := fmt.Sprintf("secret/data/bench/%d", i%1000)
			if _, err := do(b, c, root, logical.ReadOperation, path, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
