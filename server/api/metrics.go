package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/secretumvault/secretumvault/engines/logical"
)

// Metrics is the server's Prometheus registry with the request metrics
// registered. Other packages add their collectors (raft, barrier, audit)
// through Registry; everything in it is served at
// /v1/sys/metrics?format=prometheus.
type Metrics struct {
	registry     *prometheus.Registry
	duration     *prometheus.HistogramVec
	authFailures prometheus.Counter
	forwards     *prometheus.CounterVec
	handler      http.Handler
}

// NewMetrics returns Metrics over a new registry holding the Go runtime and
// process collectors, secretum_vault_request_duration_seconds (labels
// operation, mount, status), secretum_vault_auth_failures_total and
// secretum_vault_forwarded_requests_total (labels transport, status).
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "secretum_vault_request_duration_seconds",
			Help:    "Time to answer an API request (REST or gRPC), by logical operation, mount and HTTP status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation", "mount", "status"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "secretum_vault_auth_failures_total",
			Help: "Requests refused with 403: missing or invalid token, or permission denied.",
		}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "secretum_vault_forwarded_requests_total",
			Help: "Requests this standby forwarded to the active node, by transport (http, grpc) and the status returned to the client (aborted: the answer broke off midway).",
		}, []string{"transport", "status"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.duration,
		m.authFailures,
		m.forwards,
	)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// Registry returns the registry served by the metrics endpoint.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

func (m *Metrics) observe(operation, mount string, status int, d time.Duration) {
	if operation == "" {
		operation = "unknown"
	}
	m.duration.WithLabelValues(operation, mount, strconv.Itoa(status)).Observe(d.Seconds())
	if status == http.StatusForbidden {
		m.authFailures.Inc()
	}
}

// forwarded counts one request forwarded to the active node.
func (m *Metrics) forwarded(transport, status string) {
	m.forwards.WithLabelValues(transport, status).Inc()
}

func isPrometheusScrape(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.TrimSuffix(r.URL.Path, "/") == "/v1/sys/metrics" &&
		r.URL.Query().Get("format") == "prometheus"
}

// msgLocalOnly is Vault's answer to a request a standby must serve
// itself but cannot (it cannot check tokens).
const msgLocalOnly = "cannot forward local-only request"

// serveMetrics answers a Prometheus scrape with this node's registry,
// never the active node's: scrapes are not forwarded. As in Vault, on a
// listener with UnauthenticatedMetricsAccess it needs no token and works
// on any node, even sealed; otherwise core authorizes a read of
// sys/metrics with the request's token (and answers sealed with 503),
// which a standby cannot do: it refuses with 400 "cannot forward
// local-only request".
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, call *callInfo) {
	call.operation, call.mount = string(logical.ReadOperation), sysMount
	if listenerFrom(r.Context()).UnauthenticatedMetricsAccess {
		s.metrics.handler.ServeHTTP(w, r)
		return
	}
	if _, standby := s.forwardTarget(r.Context()); standby {
		writeError(w, newStatusError(http.StatusBadRequest, nil, msgLocalOnly))
		return
	}
	_, err := s.core.HandleRequest(r.Context(), &logical.Request{
		ID:          requestIDFor(r.Context()),
		Operation:   logical.ReadOperation,
		Path:        "sys/metrics",
		ClientToken: headerToken(r.Header),
		Connection:  call.rest.connection(),
	})
	if err != nil {
		writeError(w, toStatusError(err))
		return
	}
	s.metrics.handler.ServeHTTP(w, r)
}

// headerToken reads X-Vault-Token or an Authorization bearer token.
func headerToken(h http.Header) string {
	if t := strings.TrimSpace(h.Get("X-Vault-Token")); t != "" {
		return t
	}
	if a := h.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// AuditFailureSource is implemented by a core with audit devices: how
// many entries each device failed to record.
type AuditFailureSource interface {
	AuditFailures() map[string]uint64
}

// auditCollector exports secretum_vault_audit_log_failures_total{device}.
type auditCollector struct {
	src  AuditFailureSource
	desc *prometheus.Desc
}

func newAuditCollector(src AuditFailureSource) *auditCollector {
	return &auditCollector{src: src, desc: prometheus.NewDesc(
		"secretum_vault_audit_log_failures_total",
		"Entries an audit device failed to record (written nowhere else means the request was refused), by device path.",
		[]string{"device"}, nil)}
}

// Describe implements prometheus.Collector.
func (a *auditCollector) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect implements prometheus.Collector.
func (a *auditCollector) Collect(ch chan<- prometheus.Metric) {
	for device, n := range a.src.AuditFailures() {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.CounterValue, float64(n), device)
	}
}
