package load

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted,
// which must be in ascending order: the smallest sample such that at least
// q of all samples are <= it. It returns 0 for an empty slice; q <= 0
// yields the minimum and q >= 1 the maximum.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return sorted[0]
	}
	if q >= 1 {
		return sorted[n-1]
	}
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	rank = max(rank, 1)
	return sorted[min(rank, n)-1]
}

// Latency summarises a set of request latencies.
type Latency struct {
	Min  time.Duration
	Mean time.Duration
	P50  time.Duration
	P95  time.Duration
	P99  time.Duration
	Max  time.Duration
}

// Summarize sorts samples in place and returns their summary; the zero
// Latency for no samples.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return Latency{
		Min:  samples[0],
		Mean: time.Duration(sum / float64(len(samples))),
		P50:  Percentile(samples, 0.50),
		P95:  Percentile(samples, 0.95),
		P99:  Percentile(samples, 0.99),
		Max:  samples[len(samples)-1],
	}
}
