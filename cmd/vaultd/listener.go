package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/server/api"
)

// apiConfig turns the listener block's HTTP settings into the API
// server's: api.DefaultListenerConfig, overridden by every setting given
// with a positive value (as Vault, where 0 keeps the default). Errors
// name the setting.
func (l *ListenerConfig) apiConfig() (api.ListenerConfig, error) {
	cfg := api.DefaultListenerConfig()
	for _, d := range []struct {
		name string
		raw  any
		into *time.Duration
	}{
		{"http_read_header_timeout", l.HTTPReadHeaderTimeout, &cfg.ReadHeaderTimeout},
		{"http_read_timeout", l.HTTPReadTimeout, &cfg.ReadTimeout},
		{"http_write_timeout", l.HTTPWriteTimeout, &cfg.WriteTimeout},
		{"http_idle_timeout", l.HTTPIdleTimeout, &cfg.IdleTimeout},
	} {
		v, err := parseDurationSecond(d.raw)
		if err != nil {
			return cfg, fmt.Errorf("config: listener.%s: %w", d.name, err)
		}
		if v > 0 {
			*d.into = v
		}
	}
	switch {
	case l.HTTPMaxHeaderBytes < 0:
		return cfg, fmt.Errorf("config: listener.http_max_header_bytes %d is negative", l.HTTPMaxHeaderBytes)
	case l.HTTPMaxHeaderBytes > 0:
		cfg.MaxHeaderBytes = l.HTTPMaxHeaderBytes
	}
	var err error
	if cfg.UnauthenticatedMetricsAccess, err = parseBool(l.Telemetry.UnauthenticatedMetricsAccess); err != nil {
		return cfg, fmt.Errorf("config: listener.telemetry.unauthenticated_metrics_access: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: listener: %w", err)
	}
	return cfg, nil
}

// parseDurationSecond reads a duration as Vault's config does: a number
// of seconds (integer, or a string without unit) or a Go duration string
// ("90s", "5m"). nil is 0. Negative durations are refused.
func parseDurationSecond(raw any) (time.Duration, error) {
	var d time.Duration
	switch v := raw.(type) {
	case nil:
		return 0, nil
	case int:
		d = time.Duration(v) * time.Second
	case int64:
		d = time.Duration(v) * time.Second
	case float64:
		d = time.Duration(v * float64(time.Second))
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			d = time.Duration(n) * time.Second
			break
		}
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. \"30s\") or a number of seconds", v)
		}
	default:
		return 0, fmt.Errorf("%v is not a duration (e.g. \"30s\") or a number of seconds", raw)
	}
	if d < 0 {
		return 0, fmt.Errorf("%v is negative", raw)
	}
	return d, nil
}

// parseBool reads true/false or their string forms ("true", "1", ...).
// nil is false.
func parseBool(raw any) (bool, error) {
	switch v := raw.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return false, fmt.Errorf("%q is not a boolean", v)
		}
		return b, nil
	}
	return false, fmt.Errorf("%v is not a boolean", raw)
}
