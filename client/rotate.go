package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// KeyStatus describes the barrier's active key term (sys/key-status).
type KeyStatus struct {
	// Term is the active key's term; Rotate adds one.
	Term int `json:"term"`
	// InstallTime is when the term was installed.
	InstallTime time.Time `json:"install_time"`
	// Encryptions counts the encryptions made with the term.
	Encryptions int64 `json:"encryptions"`
}

// RotateConfig says when the barrier key term rotates by itself
// (sys/rotate/config): after MaxOperations encryptions with one term, or
// once the term is Interval old (0: never by age), if Enabled. On the wire
// the interval is seconds; the server also accepts and may send a
// duration string ("24h").
type RotateConfig struct {
	MaxOperations int64         `json:"max_operations"`
	Interval      time.Duration `json:"interval"`
	Enabled       bool          `json:"enabled"`
}

// rotateConfigWire is RotateConfig as sent (interval in seconds) and as
// received (seconds, or a duration string).
type rotateConfigWire struct {
	MaxOperations int64           `json:"max_operations"`
	Interval      json.RawMessage `json:"interval"`
	Enabled       bool            `json:"enabled"`
}

// MarshalJSON sends the interval in whole seconds.
func (r RotateConfig) MarshalJSON() ([]byte, error) {
	secs := strconv.FormatInt(int64(r.Interval/time.Second), 10)
	return json.Marshal(rotateConfigWire{MaxOperations: r.MaxOperations, Interval: json.RawMessage(secs), Enabled: r.Enabled})
}

// UnmarshalJSON reads the interval as seconds or as a duration string.
func (r *RotateConfig) UnmarshalJSON(b []byte) error {
	var w rotateConfigWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var d time.Duration
	if len(w.Interval) > 0 && string(w.Interval) != "null" {
		var s string
		if w.Interval[0] == '"' {
			if err := json.Unmarshal(w.Interval, &s); err != nil {
				return err
			}
		} else {
			s = string(w.Interval)
		}
		var err error
		if d, err = ParseDuration(s); err != nil {
			return fmt.Errorf("interval: %w", err)
		}
	}
	*r = RotateConfig{MaxOperations: w.MaxOperations, Interval: d, Enabled: w.Enabled}
	return nil
}

// Rotate adds a barrier key term (PUT sys/rotate): new data is encrypted
// with it, older terms still decrypt. Read the new term with KeyStatus.
func (s *Sys) Rotate(ctx context.Context) error {
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/rotate"}); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

// RotateRoot replaces the root key that protects the barrier keyring (PUT
// sys/rotate/root, OpenBao's name); the unseal key shares stay valid. It
// needs a root token. Not to be confused with WithRotateKeys, OpenBao's
// rekey under sys/rotate/root/*.
func (s *Sys) RotateRoot(ctx context.Context) error {
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/rotate/root"}); err != nil {
		return fmt.Errorf("rotate root key: %w", err)
	}
	return nil
}

// KeyStatus returns the barrier's active key term (GET sys/key-status).
func (s *Sys) KeyStatus(ctx context.Context) (*KeyStatus, error) {
	var out KeyStatus
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/key-status"}, &out); err != nil {
		return nil, fmt.Errorf("key status: %w", err)
	}
	return &out, nil
}

// RotateConfig returns when the barrier key rotates by itself (GET
// sys/rotate/config).
func (s *Sys) RotateConfig(ctx context.Context) (*RotateConfig, error) {
	var out RotateConfig
	if err := s.c.data(ctx, request{method: http.MethodGet, path: "sys/rotate/config"}, &out); err != nil {
		return nil, fmt.Errorf("rotate config: %w", err)
	}
	return &out, nil
}

// SetRotateConfig replaces the automatic rotation settings with cfg (PUT
// sys/rotate/config); change a field by reading the config first. The
// server refuses an interval under 24h other than 0.
func (s *Sys) SetRotateConfig(ctx context.Context, cfg *RotateConfig) error {
	if cfg == nil {
		return invalidArg("nil RotateConfig")
	}
	if cfg.MaxOperations < 0 || cfg.Interval < 0 {
		return invalidArg("rotate config: max_operations and interval must not be negative")
	}
	if err := s.c.send(ctx, request{method: http.MethodPut, path: "sys/rotate/config", body: cfg}); err != nil {
		return fmt.Errorf("set rotate config: %w", err)
	}
	return nil
}
