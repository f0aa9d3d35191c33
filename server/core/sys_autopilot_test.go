package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/membership"
)

// TestAutopilotConfigurationUpdates sends configuration bodies as a client
// would (JSON decoded with numbers kept) through the pipeline.
func TestAutopilotConfigurationUpdates(t *testing.T) {
	def := membership.DefaultAutopilotConfig()
	tests := []struct {
		name string
		body string
		want func(*membership.AutopilotConfig)
		bad  string // substring of the error; "" = valid
	}{
		{"empty body", `{}`, func(*membership.AutopilotConfig) {}, ""},
		{"duration strings", `{"last_contact_threshold":"2s","dead_server_last_contact_threshold":"1m30s","server_stabilization_time":"500ms"}`,
			func(c *membership.AutopilotConfig) {
				c.LastContactThreshold, c.DeadServerLastContactThreshold, c.ServerStabilizationTime = 2*time.Second, 90*time.Second, 500*time.Millisecond
			}, ""},
		{"durations as seconds", `{"last_contact_threshold":3,"dead_server_last_contact_threshold":"20"}`,
			func(c *membership.AutopilotConfig) {
				c.LastContactThreshold, c.DeadServerLastContactThreshold = 3*time.Second, 20*time.Second
			}, ""},
		{"durations in days, empty and null keep the default", `{"dead_server_last_contact_threshold":"1d","last_contact_threshold":"","server_stabilization_time":null}`,
			func(c *membership.AutopilotConfig) { c.DeadServerLastContactThreshold = 24 * time.Hour }, ""},
		{"counts and bools", `{"cleanup_dead_servers":true,"dead_server_last_contact_threshold":"1m","min_quorum":3,"max_trailing_logs":"250"}`,
			func(c *membership.AutopilotConfig) {
				c.CleanupDeadServers, c.DeadServerLastContactThreshold, c.MinQuorum, c.MaxTrailingLogs = true, time.Minute, 3, 250
			}, ""},
		{"bool as string", `{"cleanup_dead_servers":"false"}`, func(*membership.AutopilotConfig) {}, ""},
		{"what Vault's Go client sends for a partial config", `{"cleanup_dead_servers":false,"last_contact_threshold":"0s",
			"dead_server_last_contact_threshold":"0s","max_trailing_logs":0,"min_quorum":0,"server_stabilization_time":"15s","disable_upgrade_migration":false}`,
			func(c *membership.AutopilotConfig) { c.ServerStabilizationTime = 15 * time.Second }, ""},
		{"unknown fields ignored", `{"redundancy_zone_tag":"x"}`, func(*membership.AutopilotConfig) {}, ""},
		{"bad duration", `{"last_contact_threshold":"soon"}`, nil, "last_contact_threshold"},
		{"negative duration", `{"server_stabilization_time":"-5s"}`, nil, "server_stabilization_time: must not be negative"},
		{"negative count", `{"min_quorum":-1}`, nil, "min_quorum"},
		{"fractional count", `{"max_trailing_logs":1.5}`, nil, "max_trailing_logs"},
		{"bool of wrong type", `{"cleanup_dead_servers":"maybe"}`, nil, "cleanup_dead_servers"},
		{"object for a duration", `{"dead_server_last_contact_threshold":{}}`, nil, "dead_server_last_contact_threshold"},
		{"upgrade migration", `{"disable_upgrade_migration":true}`, nil, "disable_upgrade_migration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _, root := newClusteredCore(t)
			dec := json.NewDecoder(bytes.NewReader([]byte(tc.body)))
			dec.UseNumber()
			var data map[string]any
			if err := dec.Decode(&data); err != nil {
				t.Fatal(err)
			}
			_, err := c.HandleRequest(context.Background(), &logical.Request{Operation: logical.UpdateOperation,
				Path: "sys/storage/raft/autopilot/configuration", ClientToken: root, Data: data})
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, logical.ErrInvalidRequest) {
					t.Fatalf("error %v, want an invalid request mentioning %q", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.members.Autopilot().Configuration(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := def
			tc.want(&want)
			if *got != want {
				t.Fatalf("config %+v, want %+v", *got, want)
			}
		})
	}
}
