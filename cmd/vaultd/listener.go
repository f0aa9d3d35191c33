package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
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
	if cfg.DisableUnauthedRekeyEndpoints, err = parseBool(l.DisableUnauthedRekeyEndpoints); err != nil {
		return cfg, fmt.Errorf("config: listener.disable_unauthed_rekey_endpoints: %w", err)
	}
	if cfg.DisableUnauthedGenerateRootEndpoints, err = parseBool(l.DisableUnauthedGenerateRootEndpoints); err != nil {
		return cfg, fmt.Errorf("config: listener.disable_unauthed_generate_root_endpoints: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: listener: %w", err)
	}
	return cfg, nil
}

// parseDurationSecond reads a duration with the one Vault parser
// (framework.ParseDuration: seconds as a number or string, or "90s",
// "5m", "1d"); nil is 0. Negative durations are refused.
func parseDurationSecond(raw any) (time.Duration, error) {
	d, err := framework.ParseDuration(raw)
	if err != nil {
		return 0, err
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
