package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// failoverReport is a fixed report of a write run over two nodes during
// which the leader was killed: writes failed for 1.52s from 2.01s.
func failoverReport() *load.Report {
	ms := time.Millisecond
	av := load.Availability{Outages: 1, LongestOutage: 1520 * ms, LongestOutageStart: 2010 * ms, Recovery: 1520 * ms, Recovered: true}
	errs := func() map[string]int { return map[string]int{"503": 40, "transport": 8} }
	write := load.Stats{Requests: 12000, Errors: 48, ErrorsByStatus: errs(), RequestsPerSecond: 1200,
		Latency:      load.Latency{Min: 300 * time.Microsecond, Mean: 6 * ms, P50: 2500 * time.Microsecond, P95: 9 * ms, P99: 21 * ms, Max: 1450 * ms},
		Availability: av}
	return &load.Report{
		Workload: load.WorkloadWrite, Clients: 8,
		Addrs: []string{"http://127.0.0.1:8210", "http://127.0.0.1:8220"}, ElapsedSeconds: 10.002, OutageThresholdMS: 250,
		Total: write, ByKind: map[load.Kind]*load.Stats{load.KindWrite: &write},
	}
}

// TestWriteReportGolden pins the command's text and JSON output; rewrite
// it with go test ./cmd/vaultbench -run Golden -update.
func TestWriteReportGolden(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := writeReport(&b, failoverReport(), format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "failover."+format)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("%s output:\n%s\nwant (%s):\n%s", format, b.String(), path, want)
			}
		})
	}
}
