package api

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LeaseStatsSource is implemented by a core with an expiration manager.
type LeaseStatsSource interface {
	LeaseCounts() (byMount map[string]int, irrevocable int)
	LeaseRemaining(fn func(mount string, remaining time.Duration))
}

// leaseExpiryBuckets are the histogram's upper bounds in seconds: a
// minute to Vault's default maximum TTL (32 days).
var leaseExpiryBuckets = []float64{60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600, 32 * 24 * 3600}

// leaseCollector exports secretum_vault_secret_lease_expiry{mount} (the
// remaining time of live leases), secretum_vault_leases{mount} and
// secretum_vault_leases_irrevocable, computed at scrape.
type leaseCollector struct {
	src                        LeaseStatsSource
	expiry, count, irrevocable *prometheus.Desc
}

func newLeaseCollector(src LeaseStatsSource) *leaseCollector {
	return &leaseCollector{
		src: src,
		expiry: prometheus.NewDesc("secretum_vault_secret_lease_expiry",
			"Remaining time of the live leases, in seconds, by mount.", []string{"mount"}, nil),
		count: prometheus.NewDesc("secretum_vault_leases",
			"Live leases (irrevocable included), by mount.", []string{"mount"}, nil),
		irrevocable: prometheus.NewDesc("secretum_vault_leases_irrevocable",
			"Leases the expiration manager gave up revoking (sys/leases/lookup shows the last error).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (l *leaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.expiry
	ch <- l.count
	ch <- l.irrevocable
}

// Collect implements prometheus.Collector.
func (l *leaseCollector) Collect(ch chan<- prometheus.Metric) {
	by, irrevocable := l.src.LeaseCounts()
	for mount, n := range by {
		ch <- prometheus.MustNewConstMetric(l.count, prometheus.GaugeValue, float64(n), mount)
	}
	ch <- prometheus.MustNewConstMetric(l.irrevocable, prometheus.GaugeValue, float64(irrevocable))
	type hist struct {
		n       uint64
		sum     float64
		buckets map[float64]uint64
	}
	hs := map[string]*hist{}
	l.src.LeaseRemaining(func(mount string, remaining time.Duration) {
		h := hs[mount]
		if h == nil {
			h = &hist{buckets: map[float64]uint64{}}
			hs[mount] = h
		}
		s := remaining.Seconds()
		h.n++
		h.sum += s
		for _, b := range leaseExpiryBuckets {
			if s <= b {
				h.buckets[b]++
			}
		}
	})
	for mount, h := range hs {
		ch <- prometheus.MustNewConstHistogram(l.expiry, h.n, h.sum, h.buckets, mount)
	}
}
