package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/secretumvault/secretumvault/server/core/rotation"
)

// RotationStatsSource is implemented by a core with a rotation scheduler.
type RotationStatsSource interface {
	RotationStats() map[string]rotation.PolicyStats
}

// rotationCollector exports secretum_vault_rotation_runs_total{policy,
// result}, secretum_vault_secret_age_seconds{policy} (the oldest matched
// secret) and secretum_vault_rotation_overdue{policy}; empty on a standby.
type rotationCollector struct {
	src                RotationStatsSource
	runs, age, overdue *prometheus.Desc
}

func newRotationCollector(src RotationStatsSource) *rotationCollector {
	return &rotationCollector{
		src: src,
		runs: prometheus.NewDesc("secretum_vault_rotation_runs_total",
			"Rotation policy runs since this node became active, by policy and result.", []string{"policy", "result"}, nil),
		age: prometheus.NewDesc("secretum_vault_secret_age_seconds",
			"Age of the oldest secret a rotation policy matches, in seconds.", []string{"policy"}, nil),
		overdue: prometheus.NewDesc("secretum_vault_rotation_overdue",
			"Secrets past their rotation policy's max_age.", []string{"policy"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (r *rotationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.runs
	ch <- r.age
	ch <- r.overdue
}

// Collect implements prometheus.Collector.
func (r *rotationCollector) Collect(ch chan<- prometheus.Metric) {
	for policy, st := range r.src.RotationStats() {
		for result, n := range st.Runs {
			ch <- prometheus.MustNewConstMetric(r.runs, prometheus.CounterValue, float64(n), policy, result)
		}
		ch <- prometheus.MustNewConstMetric(r.age, prometheus.GaugeValue, st.OldestAge.Seconds(), policy)
		ch <- prometheus.MustNewConstMetric(r.overdue, prometheus.GaugeValue, float64(st.Overdue), policy)
	}
}
