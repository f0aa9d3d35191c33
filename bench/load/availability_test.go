package load_test

import (
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/bench/load"
)

// timeline parses "ok@10 fail@20 ..." (milliseconds) into samples.
func timeline(t *testing.T, s string) []load.Sample {
	t.Helper()
	var out []load.Sample
	for _, f := range strings.Fields(s) {
		kind, at, found := strings.Cut(f, "@")
		d, err := time.ParseDuration(at + "ms")
		if !found || err != nil || (kind != "ok" && kind != "fail") {
			t.Fatalf("bad sample %q", f)
		}
		out = append(out, load.Sample{At: d, OK: kind == "ok"})
	}
	return out
}

func TestSummarizeAvailability(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		name      string
		samples   string
		end       time.Duration // length of the run
		threshold time.Duration
		want      load.Availability
	}{
		{"empty", "", time.Second, 250 * ms, load.Availability{Recovered: true}},
		{"all ok", "ok@1 ok@2 ok@500 ok@999", time.Second, 250 * ms, load.Availability{Recovered: true}},
		// A stall that ends in success is latency, not an outage.
		{"stall without failure is no outage", "ok@10 ok@900", time.Second, 250 * ms, load.Availability{Recovered: true}},
		{"one failure between successes", "ok@10 ok@20 fail@25 ok@40 ok@50", time.Second, 250 * ms,
			load.Availability{LongestOutage: 20 * ms, LongestOutageStart: 20 * ms, Recovery: 20 * ms, Recovered: true}},
		// From the last success before the failures to the next success.
		{"failover", "ok@100 ok@1990 fail@2000 fail@2300 fail@3000 ok@3510 ok@3520", 5 * time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 1520 * ms, LongestOutageStart: 1990 * ms, Recovery: 1520 * ms, Recovered: true}},
		// No success before: the window starts at the first failure.
		{"starts failing", "fail@5 fail@400 ok@700 ok@710", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 695 * ms, LongestOutageStart: 5 * ms, Recovery: 695 * ms, Recovered: true}},
		// No success after: the window lasts until the end of the run.
		{"never recovers", "ok@100 ok@200 fail@210 fail@600", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 800 * ms, LongestOutageStart: 200 * ms, Recovered: false}},
		{"all fail", "fail@1 fail@500 fail@900", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 999 * ms, LongestOutageStart: 1 * ms, Recovered: false}},
		{"all fail below threshold", "fail@1 fail@100", 200 * ms, 250 * ms,
			load.Availability{LongestOutage: 199 * ms, LongestOutageStart: 1 * ms, Recovered: false}},
		// Two windows over the threshold and one under; the longest is the
		// second. Failures inside a window do not split it.
		{"three windows", "ok@0 fail@10 ok@300 fail@310 fail@500 ok@1000 fail@1010 ok@1100 ok@1200", 2 * time.Second, 250 * ms,
			load.Availability{Outages: 2, LongestOutage: 700 * ms, LongestOutageStart: 300 * ms, Recovery: 700 * ms, Recovered: true}},
		// A recovered long window stays the longest even if the run ends
		// inside a shorter one: Recovered describes the longest.
		{"longest recovered, shorter trailing", "ok@0 fail@1 ok@600 ok@700 fail@800", 900 * ms, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 600 * ms, LongestOutageStart: 0, Recovery: 600 * ms, Recovered: true}},
		{"trailing window is the longest", "ok@0 fail@1 ok@100 fail@200", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 900 * ms, LongestOutageStart: 100 * ms, Recovered: false}},
		// Strictly longer than the threshold counts; equal does not.
		{"exactly the threshold", "ok@0 fail@1 ok@250 fail@260 ok@511", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 261 * ms, LongestOutageStart: 250 * ms, Recovery: 261 * ms, Recovered: true}},
		{"zero threshold counts every window", "ok@0 fail@1 ok@2 fail@3 ok@4", time.Second, 0,
			load.Availability{Outages: 2, LongestOutage: 2 * ms, LongestOutageStart: 0, Recovery: 2 * ms, Recovered: true}},
		{"equal windows report the first", "ok@0 fail@1 ok@300 fail@301 ok@600", time.Second, 250 * ms,
			load.Availability{Outages: 2, LongestOutage: 300 * ms, LongestOutageStart: 0, Recovery: 300 * ms, Recovered: true}},
		// Concurrent clients append out of order; the function sorts.
		{"unsorted input", "ok@3520 fail@3000 ok@100 fail@2000 ok@3510 ok@1990 fail@2300", 5 * time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 1520 * ms, LongestOutageStart: 1990 * ms, Recovery: 1520 * ms, Recovered: true}},
		// At the same instant failures sort first: the success ends the
		// window opened at the previous success.
		{"tie: success ends the window", "ok@0 ok@400 fail@400 ok@401", time.Second, 250 * ms,
			load.Availability{Outages: 1, LongestOutage: 400 * ms, LongestOutageStart: 0, Recovery: 400 * ms, Recovered: true}},
		// A timeline whose last failure is stamped after end lasts until it.
		{"end before last failure", "ok@0 fail@10", 5 * ms, 250 * ms,
			load.Availability{LongestOutage: 10 * ms, LongestOutageStart: 0, Recovered: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := load.SummarizeAvailability(timeline(t, tc.samples), tc.end, tc.threshold)
			if got != tc.want {
				t.Fatalf("SummarizeAvailability(%s, end %v) =\n%+v\nwant\n%+v", tc.samples, tc.end, got, tc.want)
			}
		})
	}
}
