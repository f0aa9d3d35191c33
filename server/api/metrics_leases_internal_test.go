package api

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// leaseNumbers is a LeaseStatsSource of fixed numbers.
type leaseNumbers struct {
	by          map[string]int
	irrevocable int
	remaining   map[string][]time.Duration
}

func (l leaseNumbers) LeaseCounts() (map[string]int, int) { return l.by, l.irrevocable }
func (l leaseNumbers) LeaseRemaining(fn func(string, time.Duration)) {
	for m, ds := range l.remaining {
		for _, d := range ds {
			fn(m, d)
		}
	}
}

func TestLeaseCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLeaseCollector(leaseNumbers{
		by: map[string]int{"database/": 3}, irrevocable: 1,
		remaining: map[string][]time.Duration{"database/": {30 * time.Second, 2 * time.Hour, 0}},
	}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
		switch mf.GetName() {
		case "secretum_vault_leases":
			if m := mf.Metric[0]; m.GetGauge().GetValue() != 3 || m.Label[0].GetValue() != "database/" {
				t.Fatalf("leases = %v", m)
			}
		case "secretum_vault_leases_irrevocable":
			if v := mf.Metric[0].GetGauge().GetValue(); v != 1 {
				t.Fatalf("irrevocable = %v", v)
			}
		case "secretum_vault_secret_lease_expiry":
			h := mf.Metric[0].GetHistogram()
			if h.GetSampleCount() != 3 || h.GetSampleSum() != 30+7200 {
				t.Fatalf("histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
			}
			for _, b := range h.Bucket {
				want := map[float64]uint64{60: 2, 300: 2, 900: 2, 3600: 2}[b.GetUpperBound()]
				if b.GetUpperBound() >= 4*3600 {
					want = 3
				}
				if b.GetCumulativeCount() != want {
					t.Fatalf("bucket %v holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
				}
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("metrics = %v", got)
	}
}
