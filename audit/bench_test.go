package audit_test

import (
	"context"
	"testing"

	"github.com/secretumvault/secretumvault/audit"
)

// BenchmarkLogRequest measures encode (HMAC of a small data map, JSON,
// chain hash) plus write per entry into a real file, for each fsync mode,
// from one caller and from parallel callers (group commit).
func BenchmarkLogRequest(b *testing.B) {
	for _, mode := range []audit.FsyncMode{audit.FsyncNever, audit.FsyncBatch, audit.FsyncAlways} {
		for _, par := range []bool{false, true} {
			name := string(mode) + "/serial"
			if par {
				name = string(mode) + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				k := newKeys(b)
				o := k.opts()
				o.Fsync = mode
				d := openFile(b, tempLog(b), o)
				e := sampleEntry(0)
				b.ReportAllocs()
				b.ResetTimer()
				if par {
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := d.LogRequest(context.Background(), e); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for b.Loop() {
						if err := d.LogRequest(context.Background(), e); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				if err := d.Close(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
