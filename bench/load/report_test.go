package load_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

func sampleReport() *load.Report {
	ms := time.Millisecond
	read := &load.Stats{Requests: 900, ErrorsByStatus: map[string]int{}, RequestsPerSecond: 450,
		Latency:      load.Latency{Min: ms / 2, Mean: ms, P50: ms, P95: 2 * ms, P99: 3 * ms, Max: 15 * ms},
		Availability: load.Availability{Recovered: true}}
	write := &load.Stats{Requests: 100, Errors: 3, ErrorsByStatus: map[string]int{"500": 2, "transport": 1}, RequestsPerSecond: 50,
		Latency:      load.Latency{Min: ms, Mean: 2 * ms, P50: 2 * ms, P95: 4 * ms, P99: 5 * ms, Max: 1500 * ms},
		Availability: load.Availability{Outages: 1, LongestOutage: 1520 * ms, LongestOutageStart: 250 * ms, Recovery: 1520 * ms, Recovered: true}}
	return &load.Report{
		Workload: load.WorkloadMixed, ReadPercent: 90, Clients: 4,
		Addrs: []string{"http://127.0.0.1:8200"}, ElapsedSeconds: 2, OutageThresholdMS: 250,
		Total: load.Stats{Requests: 1000, Errors: 3, ErrorsByStatus: map[string]int{"500": 2, "transport": 1}, RequestsPerSecond: 500,
			Latency:      load.Latency{Min: ms / 2, Mean: 1100 * time.Microsecond, P50: ms, P95: 2 * ms, P99: 4 * ms, Max: 1500 * ms},
			Availability: load.Availability{LongestOutage: 40 * ms, LongestOutageStart: 1730 * ms, Recovered: false}},
		ByKind: map[load.Kind]*load.Stats{load.KindRead: read, load.KindWrite: write},
	}
}

func TestReportWriteText(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `workload mixed (90% reads), 4 clients over 1 address(es), 2.00s
   kind  requests  errors  req/s  p50  p95  p99   max
    all      1000       3  500.0  1ms  2ms  4ms  1.5s
   read       900       0  450.0  1ms  2ms  3ms  15ms
  write       100       3   50.0  2ms  4ms  5ms  1.5s
errors (all): 500=2 transport=1
errors (write): 500=2 transport=1
availability (all): 0 outage(s) > 250ms; longest 40ms (1.73s..end, not recovered)
availability (write): 1 outage(s) > 250ms; longest 1.52s (0.25s..1.77s, recovered)
`
	if b.String() != want {
		t.Fatalf("text report:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	t.Parallel()
	in := sampleReport()
	var b bytes.Buffer
	if err := in.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	lat := raw["total"].(map[string]any)["latency"].(map[string]any)
	if lat["p99_ms"] != 4.0 || lat["max_ms"] != 1500.0 || lat["min_ms"] != 0.5 {
		t.Fatalf("latency JSON = %v", lat)
	}
	av := raw["by_kind"].(map[string]any)["write"].(map[string]any)["availability"].(map[string]any)
	wantAv := map[string]any{"outages": 1.0, "longest_outage_ms": 1520.0, "longest_outage_start_ms": 250.0, "recovery_ms": 1520.0, "recovered": true}
	if !reflect.DeepEqual(av, wantAv) || raw["outage_threshold_ms"] != 250.0 {
		t.Fatalf("availability JSON = %v, threshold %v", av, raw["outage_threshold_ms"])
	}
	var out load.Report
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", out, *in)
	}
}
