package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// MountInput is the body of POST sys/mounts/:path.
type MountInput struct {
	Type        string            `json:"type"`
	Description string            `json:"description,omitempty"`
	Config      MountConfigInput  `json:"config"`
	Options     map[string]string `json:"options,omitempty"`
	Local       bool              `json:"local,omitempty"`
	SealWrap    bool              `json:"seal_wrap,omitempty"`
}

// MountConfigInput tunes a new mount; TTLs are durations such as "768h".
type MountConfigInput struct {
	DefaultLeaseTTL string `json:"default_lease_ttl,omitempty"`
	MaxLeaseTTL     string `json:"max_lease_ttl,omitempty"`
	ForceNoCache    bool   `json:"force_no_cache,omitempty"`
}

// MountOutput describes one mounted secrets engine.
type MountOutput struct {
	UUID        string            `json:"uuid"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Accessor    string            `json:"accessor"`
	Config      MountConfigOutput `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
}

// MountConfigOutput is a mount's tuning; TTLs are in seconds.
type MountConfigOutput struct {
	DefaultLeaseTTL int  `json:"default_lease_ttl"`
	MaxLeaseTTL     int  `json:"max_lease_ttl"`
	ForceNoCache    bool `json:"force_no_cache"`
}

// ListMounts returns the mounted secrets engines keyed by path with a
// trailing slash, e.g. "secret/" (GET sys/mounts).
func (s *Sys) ListMounts(ctx context.Context) (map[string]*MountOutput, error) {
	mounts, err := s.mountTable(ctx, "sys/mounts")
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	return mounts, nil
}

// mountTable reads a table of mounts keyed by path (sys/mounts, sys/auth).
// A bare (non-enveloped) answer mixes the table with envelope fields, so
// only objects that name a type are kept.
func (s *Sys) mountTable(ctx context.Context, path string) (map[string]*MountOutput, error) {
	var raw map[string]json.RawMessage
	if err := s.c.raw(ctx, request{method: http.MethodGet, path: path}, &raw); err != nil {
		return nil, err
	}
	mounts := make(map[string]*MountOutput, len(raw))
	for key, v := range raw {
		if len(v) == 0 || v[0] != '{' {
			continue
		}
		var m MountOutput
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("decode %q: %w", key, err)
		}
		if m.Type != "" {
			mounts[key] = &m
		}
	}
	return mounts, nil
}

// EnableMount mounts a secrets engine at path (POST sys/mounts/:path).
func (s *Sys) EnableMount(ctx context.Context, path string, in *MountInput) error {
	return s.enableAt(ctx, "sys/mounts/", "mount", path, in)
}

// DisableMount unmounts the engine at path and deletes its data
// (DELETE sys/mounts/:path).
func (s *Sys) DisableMount(ctx context.Context, path string) error {
	return s.disableAt(ctx, "sys/mounts/", "mount", path)
}

// enableAt posts in to table+path (sys/mounts/, sys/auth/); what names
// the mount in errors ("mount", "auth method").
func (s *Sys) enableAt(ctx context.Context, table, what, path string, in *MountInput) error {
	path = strings.Trim(path, "/")
	if path == "" || in == nil || in.Type == "" {
		return invalidArg("enable %s needs a path and a type", what)
	}
	if err := s.c.send(ctx, request{method: http.MethodPost, path: table + path, body: in}); err != nil {
		return fmt.Errorf("enable %s %s: %w", what, path, err)
	}
	return nil
}

// disableAt deletes table+path, as enableAt.
func (s *Sys) disableAt(ctx context.Context, table, what, path string) error {
	path = strings.Trim(path, "/")
	if path == "" {
		return invalidArg("disable %s needs a path", what)
	}
	if err := s.c.send(ctx, request{method: http.MethodDelete, path: table + path}); err != nil {
		return fmt.Errorf("disable %s %s: %w", what, path, err)
	}
	return nil
}
