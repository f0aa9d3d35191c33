package membership

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// MinDeadServerThreshold is the shortest dead_server_last_contact_threshold
// accepted while cleanup_dead_servers is on: far above raft's election
// timeouts, so a restart, a GC pause or a brief partition never costs a
// voter its membership. (Vault demands 1m; this server lets tests and
// small clusters go lower.)
const MinDeadServerThreshold = 10 * time.Second

// AutopilotConfig configures autopilot (sys/storage/raft/autopilot/
// configuration). Build one with DefaultAutopilotConfig.
type AutopilotConfig struct {
	// CleanupDeadServers removes servers the leader has not heard from for
	// DeadServerLastContactThreshold, within MinQuorum.
	CleanupDeadServers bool `json:"cleanup_dead_servers"`
	// LastContactThreshold is how long a server may go without
	// acknowledging the leader before it counts as unhealthy.
	LastContactThreshold time.Duration `json:"last_contact_threshold"`
	// DeadServerLastContactThreshold is how long a server may go without
	// acknowledging the leader before it counts as dead ("left").
	DeadServerLastContactThreshold time.Duration `json:"dead_server_last_contact_threshold"`
	// MaxTrailingLogs is how many log entries a healthy server may trail
	// the leader by.
	MaxTrailingLogs uint64 `json:"max_trailing_logs"`
	// MinQuorum is the smallest number of voters dead-server cleanup may
	// leave.
	MinQuorum uint `json:"min_quorum"`
	// ServerStabilizationTime is how long a new server must stay healthy as
	// a non-voter before it is promoted to voter.
	ServerStabilizationTime time.Duration `json:"server_stabilization_time"`
}

// DefaultAutopilotConfig returns Vault's defaults: no cleanup, 10s
// last-contact threshold, 24h dead-server threshold, 1000 trailing logs,
// 10s stabilization.
func DefaultAutopilotConfig() AutopilotConfig {
	return AutopilotConfig{
		LastContactThreshold:           10 * time.Second,
		DeadServerLastContactThreshold: 24 * time.Hour,
		MaxTrailingLogs:                1000,
		ServerStabilizationTime:        10 * time.Second,
	}
}

// Validate reports the first invalid field as a logical.InvalidRequest
// error naming it.
func (c *AutopilotConfig) Validate() error {
	switch {
	case c.LastContactThreshold <= 0:
		return logical.InvalidRequest("last_contact_threshold", "must be positive")
	case c.DeadServerLastContactThreshold <= 0:
		return logical.InvalidRequest("dead_server_last_contact_threshold", "must be positive")
	case c.ServerStabilizationTime < 0:
		return logical.InvalidRequest("server_stabilization_time", "must not be negative")
	case c.DeadServerLastContactThreshold < c.LastContactThreshold:
		return logical.InvalidRequest("dead_server_last_contact_threshold",
			"(%v) must not be shorter than last_contact_threshold (%v)", c.DeadServerLastContactThreshold, c.LastContactThreshold)
	}
	if !c.CleanupDeadServers {
		return nil
	}
	if c.MinQuorum < 2 {
		return logical.InvalidRequest("min_quorum", "must be set to at least 2 when cleanup_dead_servers is set (got %d)", c.MinQuorum)
	}
	if c.DeadServerLastContactThreshold < MinDeadServerThreshold {
		return logical.InvalidRequest("dead_server_last_contact_threshold",
			"must be at least %v when cleanup_dead_servers is set (got %v)", MinDeadServerThreshold, c.DeadServerLastContactThreshold)
	}
	return nil
}

// AutopilotConfigUpdate is a partial configuration: nil fields, and (as in
// Vault, whose clients send every field) zero durations and counts, keep
// the current value.
type AutopilotConfigUpdate struct {
	CleanupDeadServers             *bool
	LastContactThreshold           *time.Duration
	DeadServerLastContactThreshold *time.Duration
	MaxTrailingLogs                *uint64
	MinQuorum                      *uint
	ServerStabilizationTime        *time.Duration
}

// Apply merges u into c.
func (u *AutopilotConfigUpdate) Apply(c *AutopilotConfig) {
	if u.CleanupDeadServers != nil {
		c.CleanupDeadServers = *u.CleanupDeadServers
	}
	setNonZero(&c.LastContactThreshold, u.LastContactThreshold)
	setNonZero(&c.DeadServerLastContactThreshold, u.DeadServerLastContactThreshold)
	setNonZero(&c.MaxTrailingLogs, u.MaxTrailingLogs)
	setNonZero(&c.MinQuorum, u.MinQuorum)
	setNonZero(&c.ServerStabilizationTime, u.ServerStabilizationTime)
}

// loadAutopilotConfig reads the stored configuration, or the defaults when
// none was ever set.
func loadAutopilotConfig(ctx context.Context, b storage.Backend) (AutopilotConfig, error) {
	cfg := DefaultAutopilotConfig()
	e, err := b.Get(ctx, autopilotConfigKey)
	if err != nil {
		return cfg, fmt.Errorf("membership: read autopilot configuration: %w", err)
	}
	if e == nil {
		return cfg, nil
	}
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return DefaultAutopilotConfig(), fmt.Errorf("membership: decode autopilot configuration: %w", err)
	}
	return cfg, nil
}

func saveAutopilotConfig(ctx context.Context, b storage.Backend, cfg *AutopilotConfig) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("membership: encode autopilot configuration: %w", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: autopilotConfigKey, Value: raw}); err != nil {
		return fmt.Errorf("membership: store autopilot configuration: %w", err)
	}
	return nil
}

// setNonZero sets *dst to *src unless src is nil or zero.
func setNonZero[T comparable](dst *T, src *T) {
	var zero T
	if src != nil && *src != zero {
		*dst = *src
	}
}
