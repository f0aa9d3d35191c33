package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/storage"
)

// mountConfig is a mount's tunable configuration (Vault's "config").
type mountConfig struct {
	DefaultLeaseTTL int64 `json:"default_lease_ttl"`
	MaxLeaseTTL     int64 `json:"max_lease_ttl"`
}

// mountEntry is one row of the mount table.
type mountEntry struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Config      mountConfig       `json:"config"`
	Options     map[string]string `json:"options"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
}

// mountTable is the persisted list of one kind of mounts.
type mountTable struct {
	Entries []*mountEntry `json:"entries"`
}

// mountKind tells the two mount tables apart: secrets engines (mounted
// at their path) and auth methods (mounted under auth/).
type mountKind int

const (
	secretMounts mountKind = iota
	authMounts
)

// prefix is what precedes an entry's path in request paths.
func (k mountKind) prefix() string {
	if k == authMounts {
		return authPrefix
	}
	return ""
}

// storagePrefix is where the mounts' storage views live behind the barrier.
func (k mountKind) storagePrefix() string {
	if k == authMounts {
		return authStoragePrefix
	}
	return logicalPrefix
}

// tableKey is the storage key of the kind's table.
func (k mountKind) tableKey() string {
	if k == authMounts {
		return authTableKey
	}
	return mountTableKey
}

// noun names the kind in messages.
func (k mountKind) noun() string {
	if k == authMounts {
		return "auth method"
	}
	return "secrets engine"
}

func (c *Core) factories(k mountKind) map[string]logical.Factory {
	if k == authMounts {
		return c.cfg.AuthFactories
	}
	return c.cfg.Factories
}

// tokenMount is the token store's row of the auth table: always mounted,
// never persisted, never disabled.
var tokenMount = &mountEntry{Path: "token/", Type: "token", Description: "token based credentials", Accessor: "auth_token_00000000", UUID: "00000000-0000-0000-0000-000000000001"}

// reservedMounts cannot be mounted over: they are served by core itself.
var reservedMounts = []string{"sys/", "auth/", "cubbyhole/", "identity/"}

func loadMountTable(ctx context.Context, b storage.Backend, key string) (*mountTable, error) {
	e, err := b.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("core: read mount table: %w", err)
	}
	mt := &mountTable{}
	if e == nil {
		return mt, nil
	}
	if err := json.Unmarshal(e.Value, mt); err != nil {
		return nil, fmt.Errorf("core: decode mount table: %w", err)
	}
	return mt, nil
}

func saveMountTable(ctx context.Context, b storage.Backend, key string, mt *mountTable) error {
	raw, err := json.Marshal(mt)
	if err != nil {
		return fmt.Errorf("core: encode mount table: %w", err)
	}
	if err := b.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("core: store mount table: %w", err)
	}
	return nil
}

// clone returns a deep-enough copy for copy-on-write updates.
func (mt *mountTable) clone() *mountTable {
	out := &mountTable{Entries: make([]*mountEntry, len(mt.Entries))}
	for i, e := range mt.Entries {
		cp := *e
		out.Entries[i] = &cp
	}
	return out
}

func (mt *mountTable) find(path string) *mountEntry {
	for _, e := range mt.Entries {
		if e.Path == path {
			return e
		}
	}
	return nil
}

// normalizeMountPath trims slashes and appends exactly one.
func normalizeMountPath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// checkMountPath rejects empty, reserved and overlapping mount paths.
func (mt *mountTable) checkMountPath(kind mountKind, path string) error {
	if path == "" {
		return logical.InvalidRequest("path", "mount path is required")
	}
	if strings.Contains(path, "..") || strings.ContainsAny(path, "*+?\\") {
		return logical.InvalidRequest("path", "invalid mount path %q", path)
	}
	reserved := reservedMounts
	if kind == authMounts {
		reserved = []string{tokenMount.Path}
	}
	for _, r := range reserved {
		if strings.HasPrefix(path, r) || strings.HasPrefix(r, path) {
			return logical.InvalidRequest("path", "cannot mount at %q: reserved by %q", path, r)
		}
	}
	for _, e := range mt.Entries {
		if strings.HasPrefix(path, e.Path) || strings.HasPrefix(e.Path, path) {
			return logical.InvalidRequest("path", "path is already in use at %s", e.Path)
		}
	}
	return nil
}

// engineType resolves Vault's type aliases: "kv-v2" is kv with version 2.
// kv version 1 is not implemented and says so instead of misbehaving.
func engineType(typ string, options map[string]string) (string, map[string]string, error) {
	opts := map[string]string{}
	for k, v := range options {
		opts[k] = v
	}
	switch typ {
	case "kv-v2":
		typ, opts["version"] = "kv", "2"
	case "kv":
		switch opts["version"] {
		case "2":
		case "", "1":
			return "", nil, logical.InvalidRequest("options.version", "kv version 1 is not supported; enable kv-v2 (or kv with options version=2)")
		default:
			return "", nil, logical.InvalidRequest("options.version", "unknown kv version %q", opts["version"])
		}
	}
	return typ, opts, nil
}
