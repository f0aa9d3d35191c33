package load_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

// ms1toN returns 1ms, 2ms, ..., n ms in the given order.
func ms1toN(n int, shuffle bool) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	if shuffle {
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"single p50", []time.Duration{7 * ms}, 0.5, 7 * ms},
		{"single p99", []time.Duration{7 * ms}, 0.99, 7 * ms},
		{"1..100 p50", ms1toN(100, false), 0.50, 50 * ms},
		{"1..100 p95", ms1toN(100, false), 0.95, 95 * ms},
		{"1..100 p99", ms1toN(100, false), 0.99, 99 * ms},
		{"1..100 p100", ms1toN(100, false), 1, 100 * ms},
		{"1..100 p0 is min", ms1toN(100, false), 0, 1 * ms},
		{"1..100 p1", ms1toN(100, false), 0.01, 1 * ms},
		{"1..100 p1.5 rounds up", ms1toN(100, false), 0.015, 2 * ms},
		{"1..1000 p99", ms1toN(1000, false), 0.99, 990 * ms},
		{"1..1000 p99.9", ms1toN(1000, false), 0.999, 999 * ms},
		{"1..10 p50", ms1toN(10, false), 0.5, 5 * ms},
		{"1..10 p95", ms1toN(10, false), 0.95, 10 * ms},
		{"1..3 p50 is middle", ms1toN(3, false), 0.5, 2 * ms},
		{"two values p50", []time.Duration{1 * ms, 9 * ms}, 0.5, 1 * ms},
		{"two values p51", []time.Duration{1 * ms, 9 * ms}, 0.51, 9 * ms},
		{"q above 1 is max", ms1toN(5, false), 1.5, 5 * ms},
		{"q below 0 is min", ms1toN(5, false), -1, 1 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := load.Percentile(tc.sorted, tc.q); got != tc.want {
				t.Fatalf("Percentile(q=%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// bimodal returns 90 fast samples of 1ms and 10 slow ones of 100ms.
func bimodal() []time.Duration {
	out := slices.Repeat([]time.Duration{time.Millisecond}, 90)
	return append(out, slices.Repeat([]time.Duration{100 * time.Millisecond}, 10)...)
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name    string
		samples []time.Duration
		want    load.Latency
	}{
		{"empty", nil, load.Latency{}},
		{"constant", slices.Repeat([]time.Duration{3 * ms}, 50),
			load.Latency{Min: 3 * ms, Mean: 3 * ms, P50: 3 * ms, P95: 3 * ms, P99: 3 * ms, Max: 3 * ms}},
		{"uniform 1..100 shuffled", ms1toN(100, true),
			load.Latency{Min: 1 * ms, Mean: 50500 * time.Microsecond, P50: 50 * ms, P95: 95 * ms, P99: 99 * ms, Max: 100 * ms}},
		{"uniform 1..10000 shuffled", ms1toN(10000, true),
			load.Latency{Min: 1 * ms, Mean: 5000500 * time.Microsecond, P50: 5000 * ms, P95: 9500 * ms, P99: 9900 * ms, Max: 10000 * ms}},
		// 90% at 1ms: p50 fast; p95/p99 land in the slow tail.
		{"bimodal 90/10", bimodal(),
			load.Latency{Min: 1 * ms, Mean: 10900 * time.Microsecond, P50: 1 * ms, P95: 100 * ms, P99: 100 * ms, Max: 100 * ms}},
		// A single outlier moves max and p99 only when it is >1% of the samples.
		{"one outlier in 1000", append(slices.Repeat([]time.Duration{2 * ms}, 999), time.Second),
			load.Latency{Min: 2 * ms, Mean: 2998 * time.Microsecond, P50: 2 * ms, P95: 2 * ms, P99: 2 * ms, Max: time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := load.Summarize(tc.samples); got != tc.want {
				t.Fatalf("Summarize = %+v\nwant        %+v", got, tc.want)
			}
		})
	}
}
