package main

import (
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/server/api"
)

func TestListenerHTTPConfig(t *testing.T) {
	const head = `storage "raft" { path = "p" }` + "\n"
	listener := func(body string) string {
		return head + `listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
` + body + "\n}\n"
	}
	defaults := api.DefaultListenerConfig()
	tests := []struct {
		name string
		body string
		want api.ListenerConfig
	}{
		{"defaults", "", defaults},
		{"vault names as duration strings", `
  http_read_header_timeout = "2s"
  http_read_timeout        = "45s"
  http_write_timeout       = "1m"
  http_idle_timeout        = "90s"
  http_max_header_bytes    = 8192
  telemetry {
    unauthenticated_metrics_access = true
  }`, api.ListenerConfig{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 45 * time.Second, WriteTimeout: time.Minute,
			IdleTimeout: 90 * time.Second, MaxHeaderBytes: 8192, UnauthenticatedMetricsAccess: true}},
		{"seconds as numbers and strings, quoted boolean", `
  http_read_timeout  = 12
  http_write_timeout = "7"
  telemetry {
    unauthenticated_metrics_access = "true"
  }`, func() api.ListenerConfig {
			c := defaults
			c.ReadTimeout, c.WriteTimeout, c.UnauthenticatedMetricsAccess = 12*time.Second, 7*time.Second, true
			return c
		}()},
		{"ceremony switches, days", `
  http_idle_timeout = "1d"
  disable_unauthed_rekey_endpoints = true
  disable_unauthed_generate_root_endpoints = "true"`, func() api.ListenerConfig {
			c := defaults
			c.IdleTimeout, c.DisableUnauthedRekeyEndpoints, c.DisableUnauthedGenerateRootEndpoints = 24*time.Hour, true, true
			return c
		}()},
		{"zero keeps the default", `
  http_read_timeout = 0
  http_idle_timeout = "0s"`, defaults},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := ParseConfig(listener(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Listener.apiConfig()
			if err != nil || got != tc.want {
				t.Fatalf("apiConfig = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

	bad := []struct {
		name, body, want string
	}{
		{"not a duration", `http_read_timeout = "soon"`, "listener.http_read_timeout"},
		{"negative duration", `http_idle_timeout = "-5s"`, "listener.http_idle_timeout"},
		{"negative seconds", `http_read_header_timeout = -1`, "listener.http_read_header_timeout"},
		{"negative header limit", `http_max_header_bytes = -1`, "listener.http_max_header_bytes"},
		{"not a boolean", `telemetry { unauthenticated_metrics_access = "yes please" }`, "listener.telemetry.unauthenticated_metrics_access"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := ParseConfig(listener(tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}
