package kv

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"
)

// Storage layout of a mount (keys relative to the mount's view). This is
// the only place key names are spelled.
//
//	config                        mountConfig (JSON)
//	metadata/<path>               keyMetadata (JSON): one per key, listable
//	versions/<sha256(path)>/<n>   version n's data (JSON object)
//
// Version entries live under a hash of the path so they never collide with
// the metadata tree and a key's versions share one fixed-length prefix.
const (
	configKey      = "config"
	metadataPrefix = "metadata/"
	versionsPrefix = "versions/"
)

func metadataKey(path string) string { return metadataPrefix + path }

func versionKey(path string, version int) string {
	sum := sha256.Sum256([]byte(path))
	return versionsPrefix + hex.EncodeToString(sum[:]) + "/" + strconv.Itoa(version)
}

// mountConfig is the mount-wide configuration (the config path).
type mountConfig struct {
	// MaxVersions is 0 when unset (DefaultMaxVersions applies).
	MaxVersions        int           `json:"max_versions,omitempty"`
	CASRequired        bool          `json:"cas_required,omitempty"`
	DeleteVersionAfter time.Duration `json:"delete_version_after,omitempty"`
}

// keyMetadata is everything about a key except its versions' data. It is
// stored in the binary form of codec.go.
type keyMetadata struct {
	CreatedTime    time.Time
	UpdatedTime    time.Time
	CurrentVersion int
	// OldestVersion is 0 until max_versions first trims a version, then
	// the oldest version kept (Vault's semantics).
	OldestVersion      int
	MaxVersions        int
	CASRequired        bool
	DeleteVersionAfter time.Duration
	CustomMetadata     map[string]string
	// Versions are the kept versions, ascending by Version.
	Versions []versionMeta
}

// versionMeta is one version's metadata.
type versionMeta struct {
	Version      int
	CreatedTime  time.Time
	DeletionTime time.Time
	Destroyed    bool
}

// version returns the metadata of version v, or nil.
func (m *keyMetadata) version(v int) *versionMeta {
	i, ok := slices.BinarySearchFunc(m.Versions, v, func(vm versionMeta, v int) int { return cmp.Compare(vm.Version, v) })
	if !ok {
		return nil
	}
	return &m.Versions[i]
}

// deleted reports whether the version is unreadable at now.
func (v *versionMeta) deleted(now time.Time) bool {
	return v.Destroyed || (!v.DeletionTime.IsZero() && !v.DeletionTime.After(now))
}

// maxVersions is the effective limit: the key's, else the mount's, else
// DefaultMaxVersions.
func maxVersions(cfg *mountConfig, meta *keyMetadata) int {
	switch {
	case meta != nil && meta.MaxVersions > 0:
		return meta.MaxVersions
	case cfg.MaxVersions > 0:
		return cfg.MaxVersions
	default:
		return DefaultMaxVersions
	}
}

// deleteAfter is the effective delete_version_after: the key's, else the
// mount's; 0 disables.
func deleteAfter(cfg *mountConfig, meta *keyMetadata) time.Duration {
	if meta != nil && meta.DeleteVersionAfter > 0 {
		return meta.DeleteVersionAfter
	}
	return cfg.DeleteVersionAfter
}

// formatTime renders a timestamp as Vault does: RFC 3339 with nanoseconds
// in UTC, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// versionResponse is a version's metadata as data reads and writes
// report it.
func versionResponse(meta *keyMetadata, version int) map[string]any {
	v := meta.version(version)
	return map[string]any{
		"created_time":    formatTime(v.CreatedTime),
		"custom_metadata": meta.CustomMetadata,
		"deletion_time":   formatTime(v.DeletionTime),
		"destroyed":       v.Destroyed,
		"version":         version,
	}
}
