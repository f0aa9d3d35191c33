// Package postgres is the database secrets engine's PostgreSQL plugin
// ("postgresql-database-plugin"): a dbplugin.Database on
// github.com/jackc/pgx/v5 (database/sql with the pgx driver) that
// creates, updates and drops roles with the statements Vault's
// postgresql plugin accepts, with the same defaults.
//
// Statements: each entry of a Statements.Commands may hold several SQL
// statements separated by ';'. An entry may also be base64 or a JSON array
// of strings, as Vault accepts. Entries are split with a lexer that
// respects quoted strings, quoted identifiers, dollar quoting and
// comments; an entry with a top-level END keyword (a BEGIN ATOMIC
// function body, a CASE expression) is sent whole. {{name}}, {{username}},
// {{password}} and {{expiration}} are substituted textually into each
// statement after the split, as Vault does; to keep that safe, a username
// used in a statement may not hold a quote or control character, and a
// password may not hold a single quote or NUL (ErrInvalidRequest).
// {{expiration}} is rendered in ExpirationFormat, or as 'infinity' for the
// zero time.
//
// The pool pings a session before reusing it, so sessions the server
// ended (a restart, an administrator) are replaced rather than failing
// an operation.
//
// Errors never hold a password: any password the plugin knows (the
// config's, and the ones in requests) is replaced by "[password]" in an
// error's text, and such an error keeps only the sentinels
// (dbplugin.ErrNotInitialized, dbplugin.ErrInvalidConfig,
// ErrInvalidRequest, context errors) in its chain.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// TypeName is the plugin's name (Vault's plugin_name).
const TypeName = "postgresql-database-plugin"

// DefaultUsernameTemplate is Vault's username template for PostgreSQL.
const DefaultUsernameTemplate = `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}`

// Limits and formats.
const (
	// DefaultMaxOpenConnections bounds the pool when the config leaves
	// MaxOpenConnections at 0.
	DefaultMaxOpenConnections = 4
	// MaxUsernameLength is PostgreSQL's identifier limit (NAMEDATALEN-1
	// bytes); generated usernames are clipped to it.
	MaxUsernameLength = 63
	// ExpirationFormat is how {{expiration}} is rendered.
	ExpirationFormat = "2006-01-02 15:04:05-0700"
)

// Errors of the plugin (besides dbplugin's).
var (
	// ErrInvalidRequest: a request the plugin cannot carry out as given
	// (no creation statements, an empty username, nothing to change, a
	// password or username that cannot be substituted safely).
	ErrInvalidRequest = errors.New("postgres: invalid request")
	// ErrAlreadyInitialized: Initialize called a second time.
	ErrAlreadyInitialized = errors.New("postgres: already initialized")
)

// Database is a PostgreSQL server managed through one connection pool.
// Its methods are safe for concurrent use. Initialize must succeed before
// the others are used; a failed Initialize may be retried. Close ends it
// for good.
type Database struct {
	mu      sync.RWMutex // guards everything below; held shared by operations
	state   state
	cfg     dbplugin.Config // normalised; Password is the current root password
	connCfg *pgx.ConnConfig // parsed connection settings (with password)
	db      *sql.DB
	names   *dbplugin.UsernameTemplate

	secrets redactor
}

type state int

const (
	stateNew state = iota
	stateReady
	stateClosed
)

var _ dbplugin.Database = (*Database)(nil)

// New returns an uninitialized Database.
func New() *Database { return &Database{} }

// Type is TypeName.
func (d *Database) Type() string { return TypeName }

// Initialize validates cfg, prepares the pool (bounded by
// MaxOpenConnections, default 4; MaxIdleConnections defaults to and is
// capped by it) and, with VerifyConnection, connects and pings. Invalid
// settings wrap dbplugin.ErrInvalidConfig. A second call after success
// fails with ErrAlreadyInitialized, after Close with
// dbplugin.ErrNotInitialized.
func (d *Database) Initialize(ctx context.Context, cfg dbplugin.Config) error {
	d.secrets.add(cfg.Password)
	return d.secrets.redact(d.initialize(ctx, cfg))
}

func (d *Database) initialize(ctx context.Context, cfg dbplugin.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.state {
	case stateReady:
		return ErrAlreadyInitialized
	case stateClosed:
		return fmt.Errorf("initialize: %w", dbplugin.ErrNotInitialized)
	}
	cfg, err := normalizeConfig(cfg)
	if err != nil {
		return err
	}
	names, err := newUsernameTemplate(cfg.UsernameTemplate)
	if err != nil {
		return fmt.Errorf("%w: username_template: %w", dbplugin.ErrInvalidConfig, err)
	}
	connCfg, err := parseConnConfig(cfg, cfg.Password)
	if err != nil {
		return err
	}
	db := openDB(cfg, connCfg)
	if cfg.VerifyConnection {
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return fmt.Errorf("postgres: verifying connection: %w", err)
		}
	}
	d.cfg, d.connCfg, d.db, d.names, d.state = cfg, connCfg, db, names, stateReady
	return nil
}

// Close closes the pool, after the operations in flight end. Later calls
// of any method fail with dbplugin.ErrNotInitialized; Close itself is
// idempotent.
func (d *Database) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state = stateClosed
	if d.db == nil {
		return nil
	}
	db := d.db
	d.db = nil
	if err := db.Close(); err != nil {
		return d.secrets.redact(fmt.Errorf("postgres: closing pool: %w", err))
	}
	return nil
}

// shared takes the lock for an ordinary operation and returns the pool,
// or ErrNotInitialized. The caller must call d.mu.RUnlock.
func (d *Database) shared() (*sql.DB, error) {
	d.mu.RLock()
	if d.state != stateReady {
		d.mu.RUnlock()
		return nil, dbplugin.ErrNotInitialized
	}
	return d.db, nil
}

// exclusive is shared for root rotation: no other operation runs while
// the root password changes. The caller must call d.mu.Unlock.
func (d *Database) exclusive() (*sql.DB, error) {
	d.mu.Lock()
	if d.state != stateReady {
		d.mu.Unlock()
		return nil, dbplugin.ErrNotInitialized
	}
	return d.db, nil
}
