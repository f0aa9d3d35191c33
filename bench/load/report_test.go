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
		Latency: load.Latency{Min: ms / 2, Mean: ms, P50: ms, P95: 2 * ms, P99: 3 * ms, Max: 15 * ms}}
	write := &load.Stats{Requests: 100, Errors: 3, ErrorsByStatus: map[string]int{"500": 2, "transport": 1}, RequestsPerSecond: 50,
		Latency: load.Latency{Min: ms, Mean: 2 * ms, P50: 2 * ms, P95: 4 * ms, P99: 5 * ms, Max: 1500 * ms}}
	return &load.Report{
		Workload: load.WorkloadMixed, ReadPercent: 90, Clients: 4,
		Addrs: []string{"http://127.0.0.1:8200"}, ElapsedSeconds: 2,
		Total: load.Stats{Requests: 1000, Errors: 3, ErrorsByStatus: map[string]int{"500": 2, "transport": 1}, RequestsPerSecond: 500,
			Latency: load.Latency{Min: ms / 2, Mean: 1100 * time.Microsecond, P50: ms, P95: 2 * ms, P99: 4 * ms, Max: 1500 * ms}},
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
	var out load.Report
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, &out) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", out, *in)
	}
}
