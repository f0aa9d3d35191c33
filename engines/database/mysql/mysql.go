// Package mysql is the MySQL/MariaDB plugin of the database secrets
// engine: a dbplugin.Database on github.com/go-sql-driver/mysql that
// behaves as Vault's mysql-database-plugin, so that Vault's role
// statements work unchanged.
//
// The connection URL is a go-sql-driver DSN such as
// "{{username}}:{{password}}@tcp(127.0.0.1:3306)/"; {{username}} and
// {{password}} are replaced by Config.Username and Config.Password after
// the DSN is parsed, so they need no escaping. The configured user needs
// CREATE USER and the privileges it grants (WITH GRANT OPTION), SELECT
// on mysql.user (to check that a new name is free and to find a user's
// hosts when it is dropped), and PROCESS plus CONNECTION ADMIN or SUPER
// to end a deleted user's sessions.
//
// Each Statements entry is read as Vault reads it (base64 is decoded, a
// JSON array is a list of statements) and split on ';' outside quotes,
// backticks and comments. {{name}}, {{username}}, {{password}} and
// {{expiration}} are then replaced as Vault replaces them, except that a
// value is escaped for the quotes it stands in (its quote characters
// and backslashes doubled), and a name or password outside quotes must
// be a plain word: no value can change a statement's structure. An entry's statements run in one
// transaction; MySQL's DDL commits implicitly, so a failed creation is
// undone by dropping the new user rather than by the transaction.
package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// Plugin names (Type) and defaults.
const (
	// TypeName is the Type of New's Database.
	TypeName = "mysql-database-plugin"
	// LegacyTypeName is the Type of NewLegacy's Database.
	LegacyTypeName = "mysql-legacy-database-plugin"

	// MaxUsernameLength is MySQL's limit on a user name (bytes).
	MaxUsernameLength = 32
	// LegacyMaxUsernameLength is the limit of MySQL before 5.7.8.
	LegacyMaxUsernameLength = 16

	// DefaultUsernameTemplate is Vault's default username template for
	// mysql-database-plugin.
	DefaultUsernameTemplate = `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}`
	// LegacyUsernameTemplate is Vault's default username template for
	// the 16-character plugins (legacy, RDS, Aurora).
	LegacyUsernameTemplate = `{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}`

	// DefaultRotationStatement changes a password when UpdateUser is
	// given no statements (MySQL 5.7.6+ and MariaDB 10.2+).
	DefaultRotationStatement = `ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';`

	// DefaultMaxOpenConnections bounds the pool when the config says 0.
	DefaultMaxOpenConnections = 4
)

// expirationLayout renders {{expiration}}, as Vault's plugin does.
const expirationLayout = "2006-01-02 15:04:05-0700"

// Errors of the plugin, besides dbplugin's.
var (
	// ErrUserExists: the generated username is taken; nothing was run.
	ErrUserExists = errors.New("mysql: user already exists")
	// ErrNoStatements: NewUser without creation statements.
	ErrNoStatements = errors.New("mysql: no statements")
	// ErrInvalidRequest: a request lacks a username, a password or a
	// change, or a statement cannot take a value safely.
	ErrInvalidRequest = errors.New("mysql: invalid request")
)

// Database is one configured MySQL or MariaDB server: a database/sql
// pool of at most Config.MaxOpenConnections connections (default 4).
// Its methods are safe for concurrent use.
type Database struct {
	typeName        string
	defaultTemplate string
	maxUsernameLen  int

	mu     sync.RWMutex // guards the fields below
	db     *sql.DB
	driver *mysql.Config // the parsed DSN, for VerifyCredentials
	creds  *credentials
	names  *dbplugin.UsernameTemplate
	closed bool
}

var _ dbplugin.Database = (*Database)(nil)

// New returns an uninitialized mysql-database-plugin: usernames of at
// most 32 bytes, from DefaultUsernameTemplate unless configured.
func New() *Database {
	return &Database{typeName: TypeName, defaultTemplate: DefaultUsernameTemplate, maxUsernameLen: MaxUsernameLength}
}

// NewLegacy returns an uninitialized mysql-legacy-database-plugin:
// usernames of at most 16 bytes, from LegacyUsernameTemplate unless
// configured.
func NewLegacy() *Database {
	return &Database{typeName: LegacyTypeName, defaultTemplate: LegacyUsernameTemplate,
		maxUsernameLen: LegacyMaxUsernameLength}
}

// Type names the plugin (TypeName or LegacyTypeName).
func (d *Database) Type() string { return d.typeName }

// Initialize applies cfg and, with VerifyConnection, connects and pings.
// It fails, and leaves d uninitialized, on an invalid config (wrapping
// dbplugin.ErrInvalidConfig) or an unreachable server; it fails once d
// is initialized or closed. No error holds the password.
func (d *Database) Initialize(ctx context.Context, cfg dbplugin.Config) error {
	pc, err := newPoolConfig(cfg)
	if err != nil {
		return err
	}
	text := cfg.UsernameTemplate
	if text == "" {
		text = d.defaultTemplate
	}
	names, err := newUsernameTemplate(text, d.maxUsernameLen)
	if err != nil {
		return fmt.Errorf("%w: %w", dbplugin.ErrInvalidConfig, err)
	}
	db, err := pc.open()
	if err != nil {
		return err
	}
	if cfg.VerifyConnection {
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			return fmt.Errorf("mysql: verify connection: %w", redact(err, false, pc.creds.secrets()...))
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.db != nil || d.closed {
		_ = db.Close()
		return errors.New("mysql: Initialize called twice or after Close")
	}
	d.db, d.driver, d.creds, d.names = db, pc.driver, pc.creds, names
	return nil
}

// session returns the pool and its state, or ErrNotInitialized.
func (d *Database) session() (*sql.DB, *credentials, *dbplugin.UsernameTemplate, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.db == nil {
		return nil, nil, nil, dbplugin.ErrNotInitialized
	}
	return d.db, d.creds, d.names, nil
}

// NewUser generates a username, checks that it is free (ErrUserExists)
// and runs the creation statements in one transaction. When they fail,
// it runs the rollback statements, if any, and then drops whatever user
// of that name exists (on every host): MySQL's DDL commits implicitly,
// so the transaction alone would leave the user behind.
func (d *Database) NewUser(ctx context.Context, req dbplugin.NewUserRequest) (dbplugin.NewUserResponse, error) {
	db, creds, names, err := d.session()
	if err != nil {
		return dbplugin.NewUserResponse{}, err
	}
	if len(req.Statements.Commands) == 0 {
		return dbplugin.NewUserResponse{}, fmt.Errorf("%w: creation statements are required", ErrNoStatements)
	}
	username, err := names.Render(req.UsernameConfig, usernameRules(d.maxUsernameLen))
	if err != nil {
		return dbplugin.NewUserResponse{}, fmt.Errorf("%w: %w", dbplugin.ErrInvalidConfig, err)
	}
	secrets := append(creds.secrets(), req.Password)
	if err := createUser(ctx, db, username, req); err != nil {
		return dbplugin.NewUserResponse{}, fmt.Errorf("mysql: create user %q: %w", username, redact(err, true, secrets...))
	}
	return dbplugin.NewUserResponse{Username: username}, nil
}

// UpdateUser changes a password (DefaultRotationStatement unless
// statements are given) and/or runs the expiration statements: MySQL has
// no expiry of its own, so without statements an expiration change does
// nothing (as Vault). Changing the password of the config's Username
// (or of the DSN's user) is root rotation: new connections of the pool
// log in with the new password, and none is opened while it changes.
func (d *Database) UpdateUser(ctx context.Context, req dbplugin.UpdateUserRequest) error {
	db, creds, _, err := d.session()
	if err != nil {
		return err
	}
	switch {
	case req.Username == "":
		return fmt.Errorf("%w: username is required", ErrInvalidRequest)
	case req.Password == nil && req.Expiration == nil:
		return fmt.Errorf("%w: no change requested", ErrInvalidRequest)
	}
	if req.Password != nil {
		secrets := append(creds.secrets(), req.Password.NewPassword)
		if err := changePassword(ctx, db, creds, req.Username, *req.Password); err != nil {
			return fmt.Errorf("mysql: change password of %q: %w", req.Username, redact(err, true, secrets...))
		}
	}
	if req.Expiration != nil && len(req.Expiration.Statements.Commands) > 0 {
		if err := changeExpiration(ctx, db, req.Username, *req.Expiration); err != nil {
			return fmt.Errorf("mysql: change expiration of %q: %w", req.Username, redact(err, true, creds.secrets()...))
		}
	}
	return nil
}

// DeleteUser runs the revocation statements (by default: on every host
// the user has, revoke all privileges and drop it) and then ends the
// user's sessions (KILL CONNECTION for each of its processes). Deleting
// a user that does not exist succeeds.
func (d *Database) DeleteUser(ctx context.Context, req dbplugin.DeleteUserRequest) error {
	db, creds, _, err := d.session()
	if err != nil {
		return err
	}
	if req.Username == "" {
		return fmt.Errorf("%w: username is required", ErrInvalidRequest)
	}
	if err := deleteUser(ctx, db, req.Username, req.Statements.Commands); err != nil {
		return fmt.Errorf("mysql: delete user %q: %w", req.Username, redact(err, true, creds.secrets()...))
	}
	return nil
}

// Close closes the pool; later calls fail with ErrNotInitialized.
func (d *Database) Close() error {
	d.mu.Lock()
	db := d.db
	d.db, d.closed = nil, true
	d.mu.Unlock()
	if db == nil {
		return nil
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("mysql: close: %w", err)
	}
	return nil
}
