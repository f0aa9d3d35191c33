package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

// BenchmarkClusterKV runs the vaultbench load (16 clients spread over all
// three nodes, so two thirds of the requests are forwarded by standbys)
// against a real 3-node cluster and reports throughput and latency.
//
//	go test -run '^$' -bench ClusterKV -benchtime 1x ./test/cluster
func BenchmarkClusterKV(b *testing.B) {
	c := Start(b, 3, Options{Shares: 1, Threshold: 1, LogLevel: "warn"})
	init := c.InitUnseal()
	leader := c.WaitLeader(30 * time.Second)
	if _, err := c.Client(leader, init.RootToken).Logical().Write("sys/mounts/secret", map[string]any{"type": "kv-v2"}); err != nil {
		b.Fatal(err)
	}
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.APIURL())
	}
	for _, wl := range []load.Workload{load.WorkloadWrite, load.WorkloadRead} {
		b.Run(string(wl), func(b *testing.B) {
			for b.Loop() {
				cfg := load.DefaultConfig()
				cfg.Addrs, cfg.Token, cfg.Mount = addrs, init.RootToken, "secret"
				cfg.Workload, cfg.Clients, cfg.Duration, cfg.Keys, cfg.ValueSize = wl, 16, 10*time.Second, 1000, 256
				rep, err := load.Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Total.Errors > 0 {
					b.Fatalf("%d errors: %v", rep.Total.Errors, rep.Total.ErrorsByStatus)
				}
				b.ReportMetric(rep.Total.RequestsPerSecond, "req/s")
				b.ReportMetric(float64(rep.Total.Latency.P50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(rep.Total.Latency.P95.Microseconds()), "p95-µs")
				b.ReportMetric(float64(rep.Total.Latency.P99.Microseconds()), "p99-µs")
			}
		})
	}
}
