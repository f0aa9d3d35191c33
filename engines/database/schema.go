package database

import (
	"context"
	"fmt"
	"time"

	"github.com/secretumvault/secretumvault/engines/framework"
	"github.com/secretumvault/secretumvault/engines/logical"
)

// Storage layout of a mount (keys relative to the mount's view, which
// core encrypts behind the barrier). This is the only place key names
// are spelled; the prefixes are Vault's.
//
//	config/<name>       connConfig (JSON): a connection, with its password
//	role/<name>         role (JSON): a dynamic role
//	static-role/<name>  staticRole (JSON): a static role, with its current
//	                    password, any rotation in flight and its schedule
const (
	configPrefix     = "config/"
	rolePrefix       = "role/"
	staticRolePrefix = "static-role/"
)

// connConfig is a stored connection (config/<name>).
type connConfig struct {
	PluginName    string `json:"plugin_name"`
	ConnectionURL string `json:"connection_url"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	// PendingPassword is set while a root rotation is in flight: written
	// before the server is changed, cleared once Password holds it. A
	// connection opened while it is set finds out which of the two the
	// server accepts (the rotation may have been interrupted).
	PendingPassword        string        `json:"pending_password,omitempty"`
	AllowedRoles           []string      `json:"allowed_roles"`
	VerifyConnection       bool          `json:"verify_connection"`
	MaxOpenConnections     int           `json:"max_open_connections"`
	MaxIdleConnections     int           `json:"max_idle_connections"`
	MaxConnectionLifetime  time.Duration `json:"max_connection_lifetime"`
	PasswordPolicy         string        `json:"password_policy,omitempty"`
	UsernameTemplate       string        `json:"username_template,omitempty"`
	RootRotationStatements []string      `json:"root_rotation_statements,omitempty"`
	// PasswordSetAt is when Password was last set: by rotate-root, or
	// by a config write that created the config or sent a password
	// (zero for configs stored before it existed).
	PasswordSetAt time.Time `json:"password_set_at,omitzero"`
}

// role is a stored dynamic role (role/<name>).
type role struct {
	DBName               string        `json:"db_name"`
	CreationStatements   []string      `json:"creation_statements"`
	RevocationStatements []string      `json:"revocation_statements,omitempty"`
	RollbackStatements   []string      `json:"rollback_statements,omitempty"`
	RenewStatements      []string      `json:"renew_statements,omitempty"`
	DefaultTTL           time.Duration `json:"default_ttl"`
	MaxTTL               time.Duration `json:"max_ttl"`
}

// staticRole is a stored static role (static-role/<name>): its settings
// and its rotation state.
type staticRole struct {
	DBName             string        `json:"db_name"`
	Username           string        `json:"username"`
	RotationPeriod     time.Duration `json:"rotation_period,omitempty"`
	RotationSchedule   string        `json:"rotation_schedule,omitempty"`
	RotationWindow     time.Duration `json:"rotation_window,omitempty"`
	RotationStatements []string      `json:"rotation_statements,omitempty"`

	// Password is the current password, readable at static-creds.
	Password string `json:"password"`
	// PendingPassword is a rotation's new password, stored before the
	// server is changed and reused by its retries, so that a rotation
	// whose outcome is unknown converges on one password.
	PendingPassword   string    `json:"pending_password,omitempty"`
	LastVaultRotation time.Time `json:"last_vault_rotation"`
	// NextRotation is when the next scheduled rotation is due.
	NextRotation time.Time `json:"next_rotation"`
	// Failures counts consecutive failed rotations; RetryAt is when the
	// next attempt is due after one.
	Failures int       `json:"failures,omitempty"`
	RetryAt  time.Time `json:"retry_at,omitzero"`
}

// due is when the role's next rotation attempt is due.
func (s *staticRole) due() time.Time {
	if s.Failures > 0 && !s.RetryAt.IsZero() {
		return s.RetryAt
	}
	return s.NextRotation
}

func loadConfig(ctx context.Context, s logical.Storage, name string) (*connConfig, error) {
	return framework.Load[connConfig](ctx, store, s, configPrefix+name)
}

func loadRole(ctx context.Context, s logical.Storage, name string) (*role, error) {
	return framework.Load[role](ctx, store, s, rolePrefix+name)
}

func loadStaticRole(ctx context.Context, s logical.Storage, name string) (*staticRole, error) {
	return framework.Load[staticRole](ctx, store, s, staticRolePrefix+name)
}

// stripes are name-hashed mutexes (framework.Stripes).
type stripes = framework.Stripes

// store is the engine's JSON storage (errors name "database" and wrap
// ErrCorrupt for an entry that does not decode).
var store = framework.JSONStore{Engine: "database", Corrupt: ErrCorrupt}

// putJSON stores v at key.
func putJSON(ctx context.Context, s logical.Storage, key string, v any) error {
	return store.Put(ctx, s, key, v)
}

// deleteKey removes key.
func deleteKey(ctx context.Context, s logical.Storage, key string) error {
	return store.Delete(ctx, s, key)
}

// listKeys lists the names under prefix; none is logical.ErrNotFound,
// as Vault answers an empty LIST with 404.
func listKeys(ctx context.Context, s logical.Storage, prefix string) (*logical.Response, error) {
	keys, err := store.List(ctx, s, prefix)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("database: nothing under %s: %w", prefix, logical.ErrNotFound)
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}
