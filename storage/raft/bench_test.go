package raft_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/secretumvault/secretumvault/storage"
)

// benchValue is the size of a typical barrier-encrypted secret.
var benchValue = make([]byte, 256)

// BenchmarkPut measures one writer: every Put is its own raft entry, log
// fsync and bbolt fsync.
func BenchmarkPut(b *testing.B) {
	s := openStore(b, testConfig(b.TempDir()))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Put(ctx, &storage.Entry{Key: fmt.Sprintf("bench/%09d", i), Value: benchValue}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutParallel measures concurrent writers (GOMAXPROCS x
// -cpu/SetParallelism goroutines): group commit shares fsyncs among them.
func BenchmarkPutParallel(b *testing.B) {
	for _, par := range []int{8, 64} {
		b.Run(fmt.Sprintf("writers=%dxGOMAXPROCS", par), func(b *testing.B) {
			s := openStore(b, testConfig(b.TempDir()))
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := fmt.Sprintf("bench/%09d", n.Add(1))
					if err := s.Put(ctx, &storage.Entry{Key: k, Value: benchValue}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkGet measures local reads from the bbolt file.
func BenchmarkGet(b *testing.B) {
	s := openStore(b, testConfig(b.TempDir()))
	ctx := context.Background()
	const keys = 1000
	ops := make([]*storage.Op, keys)
	for i := range ops {
		ops[i] = &storage.Op{Kind: storage.OpPut, Entry: &storage.Entry{Key: fmt.Sprintf("bench/%04d", i), Value: benchValue}}
	}
	if err := s.Transaction(ctx, ops); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e, err := s.Get(ctx, fmt.Sprintf("bench/%04d", i%keys))
		if err != nil || e == nil {
			b.Fatalf("Get: %v, %v", e, err)
		}
	}
}
