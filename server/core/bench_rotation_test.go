package core_test

import (
	"testing"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// BenchmarkKVRotation is one KV v2 rotation by hand through the whole
// pipeline (sys/rotation/rotate: authorization, audit-free, the
// scheduler, the KV engine's generator and a new version behind the
// barrier), for a secret of four keys matched by a policy.
//
//	go test -run '^$' -bench KVRotation ./server/core/
func BenchmarkKVRotation(b *testing.B) {
	c, res := newCoreWith(b, core.Config{Physical: inmem.New()})
	root := res.RootToken
	mustDoB(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv", "options": map[string]any{"version": "2"}})
	mustDoB(b, c, root, logical.UpdateOperation, "secret/config", map[string]any{"max_versions": 5})
	mustDoB(b, c, root, logical.UpdateOperation, "secret/data/app/api", map[string]any{"data": map[string]any{"a": "1", "b": "2", "c": "3", "d": "4"}})
	mustDoB(b, c, root, logical.UpdateOperation, "secret/metadata/app/api", map[string]any{"custom_metadata": map[string]any{"rotate_length": "32"}})
	mustDoB(b, c, root, logical.UpdateOperation, "sys/rotation/policies/kv", map[string]any{"match": "secret/data/*", "max_age": "720h"})
	body := map[string]any{"path": "secret/data/app/api"}
	b.ReportAllocs()
	for b.Loop() {
		mustDoB(b, c, root, logical.UpdateOperation, "sys/rotation/rotate", body)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}
