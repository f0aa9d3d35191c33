package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
)

func TestDecodeAutopilotUpdate(t *testing.T) {
	cfgAfter := func(body string) (core.AutopilotConfig, error) {
		u, err := decodeAutopilotUpdate(strings.NewReader(body))
		c := core.DefaultAutopilotConfig()
		if err == nil {
			u.Apply(&c)
		}
		return c, err
	}
	def := core.DefaultAutopilotConfig()
	tests := []struct {
		name string
		body string
		want func(*core.AutopilotConfig)
		bad  string // substring of the error; "" = valid
	}{
		{"empty body", ``, func(*core.AutopilotConfig) {}, ""},
		{"duration strings", `{"last_contact_threshold":"2s","dead_server_last_contact_threshold":"1m30s","server_stabilization_time":"500ms"}`,
			func(c *core.AutopilotConfig) {
				c.LastContactThreshold, c.DeadServerLastContactThreshold, c.ServerStabilizationTime = 2*time.Second, 90*time.Second, 500*time.Millisecond
			}, ""},
		{"durations as seconds", `{"last_contact_threshold":3,"dead_server_last_contact_threshold":"20"}`,
			func(c *core.AutopilotConfig) {
				c.LastContactThreshold, c.DeadServerLastContactThreshold = 3*time.Second, 20*time.Second
			}, ""},
		{"durations in days, empty and null keep the default", `{"dead_server_last_contact_threshold":"1d","last_contact_threshold":"","server_stabilization_time":null}`,
			func(c *core.AutopilotConfig) { c.DeadServerLastContactThreshold = 24 * time.Hour }, ""},
		{"counts and bools", `{"cleanup_dead_servers":true,"min_quorum":3,"max_trailing_logs":"250"}`,
			func(c *core.AutopilotConfig) { c.CleanupDeadServers, c.MinQuorum, c.MaxTrailingLogs = true, 3, 250 }, ""},
		{"bool as string", `{"cleanup_dead_servers":"false"}`, func(*core.AutopilotConfig) {}, ""},
		{"what Vault's Go client sends for a partial config", `{"cleanup_dead_servers":false,"last_contact_threshold":"0s",
			"dead_server_last_contact_threshold":"0s","max_trailing_logs":0,"min_quorum":0,"server_stabilization_time":"15s","disable_upgrade_migration":false}`,
			func(c *core.AutopilotConfig) { c.ServerStabilizationTime = 15 * time.Second }, ""},
		{"unknown fields ignored", `{"redundancy_zone_tag":"x"}`, func(*core.AutopilotConfig) {}, ""},
		{"bad duration", `{"last_contact_threshold":"soon"}`, nil, "last_contact_threshold"},
		{"negative duration", `{"server_stabilization_time":"-5s"}`, nil, "server_stabilization_time: must not be negative"},
		{"negative count", `{"min_quorum":-1}`, nil, "min_quorum"},
		{"fractional count", `{"max_trailing_logs":1.5}`, nil, "max_trailing_logs"},
		{"bool of wrong type", `{"cleanup_dead_servers":"maybe"}`, nil, "cleanup_dead_servers"},
		{"object for a duration", `{"dead_server_last_contact_threshold":{}}`, nil, "dead_server_last_contact_threshold"},
		{"upgrade migration", `{"disable_upgrade_migration":true}`, nil, "disable_upgrade_migration"},
		{"two errors reported together", `{"min_quorum":"x","last_contact_threshold":"y"}`, nil, "min_quorum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cfgAfter(tc.body)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, logical.ErrInvalidRequest) {
					t.Fatalf("error %v, want an invalid request mentioning %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tc.want(&want)
			if got != want {
				t.Fatalf("config %+v, want %+v", got, want)
			}
		})
	}
	if _, err := decodeAutopilotUpdate(strings.NewReader(`{"min_quorum":`)); err == nil || toStatusError(err).httpStatus != 400 {
		t.Fatalf("malformed JSON: %v", err)
	}
}
