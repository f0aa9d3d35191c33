package core_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// BenchmarkKVv2Audited is BenchmarkKVv2 (1 KiB values, parallel clients)
// with audit off, one file device with fsync batch (the default) and one
// with fsync always: what the audit stage costs a request.
func BenchmarkKVv2Audited(b *testing.B) {
	value := strings.Repeat("x", 1024)
	for _, mode := range []string{"off", "batch", "always"} {
		c, res := newCore(b)
		root := res.RootToken
		if _, err := do(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
			b.Fatal(err)
		}
		if mode != "off" {
			opts := map[string]any{"file_path": filepath.Join(b.TempDir(), "audit.log"), "fsync": mode}
			if _, err := do(b, c, root, logical.UpdateOperation, "sys/audit/file", map[string]any{"type": "file", "options": opts}); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 1000 {
			if _, err := do(b, c, root, logical.UpdateOperation, fmt.Sprintf("secret/data/bench/%d", i), map[string]any{"data": map[string]any{"v": value}}); err != nil {
				b.Fatal(err)
			}
		}
		for _, op := range []logical.Operation{logical.UpdateOperation, logical.ReadOperation} {
			b.Run(mode+"/"+string(op), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for i := 0; pb.Next(); i++ {
						var data map[string]any
						if op == logical.UpdateOperation {
							data = map[string]any{"data": map[string]any{"v": value}}
						}
						if _, err := do(b, c, root, op, fmt.Sprintf("secret/data/bench/%d", i%1000), data); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
