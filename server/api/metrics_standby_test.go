package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/secretumvault/secretumvault/server/api"
)

// markNode registers secretum_vault_test_node{node=name} 1 in m, so that a
// scrape shows whose registry answered.
func markNode(t *testing.T, m *api.Metrics, name string) string {
	t.Helper()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "secretum_vault_test_node", ConstLabels: prometheus.Labels{"node": name}})
	g.Set(1)
	m.Registry().MustRegister(g)
	return `secretum_vault_test_node{node="` + name + `"} 1`
}

// scrape GETs base's Prometheus endpoint with token (if any).
func scrape(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/v1/sys/metrics?format=prometheus", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestMetricsOnStandby scrapes a standby through a listener with
// unauthenticated_metrics_access and through one without: the first
// answers with the standby's own metrics, token or not; the second
// refuses as Vault does (a standby cannot check the token). Neither
// forwards to the active node.
func TestMetricsOnStandby(t *testing.T) {
	active := startNode(t, api.Options{}, 3, 2, true)
	standby := startStandby(t, newRole(true, active.clusterAddr), api.Options{})
	activeMark := markNode(t, active.api.Metrics(), "active")
	standbyMark := markNode(t, standby.api.Metrics(), "standby")
	open := api.DefaultListenerConfig()
	open.UnauthenticatedMetricsAccess = true
	standbyOpen := "http://" + serveListener(t, standby.api, open)
	activeOpen := "http://" + serveListener(t, active.api, open)
	sealed := newTestServer(t, api.Options{})
	sealedMark := markNode(t, sealed.api.Metrics(), "sealed")
	sealedOpen := "http://" + serveListener(t, sealed.api, open)

	tests := []struct {
		name, base, token string
		want              int
		body, notBody     string
	}{
		{"standby, token, default listener", standby.url, active.root, 400, `"cannot forward local-only request"`, activeMark},
		{"standby, no token, default listener", standby.url, "", 400, `"cannot forward local-only request"`, activeMark},
		{"standby, no token, unauthenticated access", standbyOpen, "", 200, standbyMark, activeMark},
		{"standby, token, unauthenticated access", standbyOpen, active.root, 200, standbyMark, activeMark},
		{"active, no token, unauthenticated access", activeOpen, "", 200, activeMark, standbyMark},
		{"active, no token, default listener", active.url, "", 403, "permission denied", activeMark},
		{"active, token, default listener", active.url, active.root, 200, activeMark, standbyMark},
		{"sealed, no token, unauthenticated access", sealedOpen, "", 200, sealedMark, "Vault is sealed"},
		{"sealed, no token, default listener", sealed.url, "", 503, "Vault is sealed", sealedMark},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := scrape(t, tc.base, tc.token)
			if code != tc.want || !strings.Contains(body, tc.body) || strings.Contains(body, tc.notBody) {
				t.Fatalf("scrape = %d, want %d with %q and without %q:\n%.400s", code, tc.want, tc.body, tc.notBody, body)
			}
		})
	}
	// The active node's core saw its own two default-listener scrapes only.
	var seen int
	for _, r := range active.rec.requests() {
		if r.path == "sys/metrics" {
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("the active node's core saw %d sys/metrics requests, want its own 2", seen)
	}
	if got := counter(t, standby.api.Metrics(), "secretum_vault_forwarded_requests_total", nil); got != 0 {
		t.Errorf("standby forwarded %v scrapes", got)
	}
}
