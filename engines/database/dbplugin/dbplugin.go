// Package dbplugin is the contract between the database secrets engine
// and the database servers it manages: one small interface, implemented
// by engines/database/postgres (pgx) and engines/database/mysql
// (go-sql-driver/mysql), modelled on Vault's database plugin interface
// (v5) so that Vault's role statements work unchanged.
//
// A Database is one configured connection (engine config/:name). Its
// methods are safe for concurrent use; the engine calls Initialize once,
// then any of the others, and Close when the config is reset, replaced or
// removed, when its mount is disabled and when the node stops being
// active.
package dbplugin

import (
	"context"
	"errors"
	"time"
)

// Errors of a Database.
var (
	// ErrNotInitialized: a method called before Initialize or after Close.
	ErrNotInitialized = errors.New("dbplugin: not initialized")
	// ErrInvalidConfig: the connection settings are unusable (wrapped
	// with the reason; never with a password).
	ErrInvalidConfig = errors.New("dbplugin: invalid configuration")
	// ErrAuthFailed: the server refused a login's credentials
	// (VerifyCredentials), as opposed to not being reachable.
	ErrAuthFailed = errors.New("dbplugin: authentication failed")
)

// Config is a connection's settings (engine config/:name).
type Config struct {
	// ConnectionURL may hold {{username}} and {{password}}, replaced by
	// Username and Password (URL-escaped where the URL needs it).
	ConnectionURL string
	Username      string
	Password      string
	// MaxOpenConnections bounds the pool (0: the plugin's default, 4).
	MaxOpenConnections int
	// MaxIdleConnections and MaxConnectionLifetime tune the pool (0:
	// defaults).
	MaxIdleConnections    int
	MaxConnectionLifetime time.Duration
	// VerifyConnection makes Initialize connect and ping.
	VerifyConnection bool
	// UsernameTemplate is a Vault username template (Go text/template
	// with the functions Vault's template language offers: random,
	// truncate, unix_time, uppercase, lowercase, replace, ...); "" uses
	// the plugin's default (Vault's: "v-{{.DisplayName}}-{{.RoleName}}-
	// {{random 20}}-{{unix_time}}", truncated to the server's limit).
	UsernameTemplate string
}

// Statements are a role's SQL statements; each entry may hold several
// statements separated by ';'. {{name}}, {{username}}, {{password}} and
// {{expiration}} are replaced (the expiration as the server's timestamp
// literal).
type Statements struct {
	Commands []string
}

// UsernameMetadata is what a generated username is made of.
type UsernameMetadata struct {
	DisplayName string
	RoleName    string
}

// NewUserRequest creates a user.
type NewUserRequest struct {
	UsernameConfig UsernameMetadata
	// Statements create the user (required: a role's
	// creation_statements); RollbackStatements undo a partial creation
	// (default: the plugin drops what was created).
	Statements         Statements
	RollbackStatements Statements
	Password           string
	Expiration         time.Time
}

// NewUserResponse names the created user.
type NewUserResponse struct {
	Username string
}

// UpdateUserRequest changes a user: its password (root rotation, static
// role rotation) and/or its expiration (lease renewal). A nil field is
// left alone.
type UpdateUserRequest struct {
	Username   string
	Password   *ChangePassword
	Expiration *ChangeExpiration
}

// ChangePassword sets a new password; empty Statements use the plugin's
// default (ALTER ROLE / ALTER USER ... PASSWORD).
type ChangePassword struct {
	NewPassword string
	Statements  Statements
}

// ChangeExpiration sets a new expiration; empty Statements use the
// plugin's default (Postgres: ALTER ROLE ... VALID UNTIL; MySQL: none).
type ChangeExpiration struct {
	NewExpiration time.Time
	Statements    Statements
}

// DeleteUserRequest removes a user. Empty Statements use the plugin's
// default, which ends the user's sessions and drops it (and, for
// Postgres, reassigns or drops what it owns). Deleting a user that does
// not exist succeeds (revocation is idempotent).
type DeleteUserRequest struct {
	Username   string
	Statements Statements
}

// Database is one configured database server.
type Database interface {
	// Initialize applies the config (and connects when VerifyConnection
	// is set). It may be called once.
	Initialize(ctx context.Context, cfg Config) error
	// NewUser creates a user with a generated, unique username within
	// the server's limit (Postgres 63 bytes, MySQL 32).
	NewUser(ctx context.Context, req NewUserRequest) (NewUserResponse, error)
	// UpdateUser changes a user's password or expiration. Changing the
	// password of the config's own Username is root rotation: the plugin
	// then uses the new password for its own connections.
	UpdateUser(ctx context.Context, req UpdateUserRequest) error
	// DeleteUser ends the user's sessions and drops it; idempotent.
	DeleteUser(ctx context.Context, req DeleteUserRequest) error
	// VerifyCredentials logs in once to the configured server (the
	// connection URL's address and options) as username with password,
	// and logs out. A refused login (wrong password, unknown user) is an
	// error matching ErrAuthFailed; any other failure (the server down,
	// a timeout) is an error that does not. It needs no connection of
	// the pool (Initialize without VerifyConnection suffices), and no
	// error holds the password.
	VerifyCredentials(ctx context.Context, username, password string) error
	// Type names the plugin ("postgresql-database-plugin",
	// "mysql-database-plugin").
	Type() string
	// Close closes the pool; later calls fail with ErrNotInitialized.
	Close() error
}
