package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// Vault's default statements.
const (
	defaultPasswordStatement   = `ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}';`
	defaultExpirationStatement = `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`
)

// NewUser generates a username from the config's template (clipped to
// MaxUsernameLength bytes) and runs the creation statements in one
// transaction with {{name}}/{{username}}, {{password}} and {{expiration}}
// (ExpirationFormat; 'infinity' for the zero time) substituted. When a statement fails the transaction
// rolls back, so nothing is left behind, and RollbackStatements, if any,
// then run (best effort, in their own transaction).
func (d *Database) NewUser(ctx context.Context, req dbplugin.NewUserRequest) (dbplugin.NewUserResponse, error) {
	username, err := d.newUser(ctx, req)
	if err != nil {
		return dbplugin.NewUserResponse{}, d.secrets.redact(err, req.Password)
	}
	return dbplugin.NewUserResponse{Username: username}, nil
}

func (d *Database) newUser(ctx context.Context, req dbplugin.NewUserRequest) (string, error) {
	if countStatements(req.Statements.Commands) == 0 {
		return "", fmt.Errorf("%w: creation statements are required", ErrInvalidRequest)
	}
	if err := checkPassword(req.Password); err != nil {
		return "", err
	}
	db, err := d.shared()
	if err != nil {
		return "", fmt.Errorf("new user: %w", err)
	}
	defer d.mu.RUnlock()
	username, err := generateUsername(d.names, req.UsernameConfig)
	if err != nil {
		return "", fmt.Errorf("new user: %w", err)
	}
	vars := map[string]string{
		"name":       username,
		"username":   username,
		"password":   req.Password,
		"expiration": formatExpiration(req.Expiration),
	}
	if err := inTx(ctx, db, req.Statements.Commands, vars); err != nil {
		err = fmt.Errorf("new user %q: creation statements: %w", username, err)
		if len(req.RollbackStatements.Commands) > 0 {
			if rerr := inTx(ctx, db, req.RollbackStatements.Commands, vars); rerr != nil {
				err = errors.Join(err, fmt.Errorf("rollback statements: %w", rerr))
			}
		}
		return "", err
	}
	return username, nil
}

// UpdateUser changes a user's password and/or expiration, each in its own
// transaction (the password first); empty Statements use Vault's defaults
// (ALTER ROLE ... WITH PASSWORD, ALTER ROLE ... VALID UNTIL). Changing
// the password of the user the pool logs in as (the config's Username) is
// root rotation: it runs alone, and the pool then reconnects with the new
// password.
func (d *Database) UpdateUser(ctx context.Context, req dbplugin.UpdateUserRequest) error {
	var newPassword string
	if req.Password != nil {
		newPassword = req.Password.NewPassword
	}
	return d.secrets.redact(d.updateUser(ctx, req), newPassword)
}

func (d *Database) updateUser(ctx context.Context, req dbplugin.UpdateUserRequest) error {
	if req.Password == nil && req.Expiration == nil {
		return fmt.Errorf("%w: update user: no changes requested", ErrInvalidRequest)
	}
	if err := checkUsername(req.Username); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if req.Password != nil {
		if req.Password.NewPassword == "" {
			return fmt.Errorf("%w: update user %q: empty password", ErrInvalidRequest, req.Username)
		}
		if err := checkPassword(req.Password.NewPassword); err != nil {
			return fmt.Errorf("update user %q: %w", req.Username, err)
		}
	}
	var errs []error
	if req.Password != nil {
		errs = append(errs, d.changePassword(ctx, req.Username, req.Password))
	}
	if req.Expiration != nil {
		errs = append(errs, d.changeExpiration(ctx, req.Username, req.Expiration))
	}
	return errors.Join(errs...)
}

func (d *Database) changePassword(ctx context.Context, username string, cp *dbplugin.ChangePassword) error {
	stmts := cp.Statements.Commands
	if countStatements(stmts) == 0 {
		stmts = []string{defaultPasswordStatement}
	}
	vars := map[string]string{"name": username, "username": username, "password": cp.NewPassword}
	if d.isRoot(username) {
		return d.rotateRoot(ctx, username, cp.NewPassword, stmts, vars)
	}
	db, err := d.shared()
	if err != nil {
		return fmt.Errorf("change password of %q: %w", username, err)
	}
	defer d.mu.RUnlock()
	if err := inTx(ctx, db, stmts, vars); err != nil {
		return fmt.Errorf("change password of %q: %w", username, err)
	}
	return nil
}

// isRoot reports whether username is the user the pool logs in as.
func (d *Database) isRoot(username string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.state != stateReady {
		return false
	}
	return username == d.connCfg.User || (d.cfg.Username != "" && username == d.cfg.Username)
}

// rotateRoot changes the root password with no other operation running,
// then replaces the pool with one that logs in with the new password and
// pings it. When the ping fails the new pool is kept (the server has the
// new password) and the error says so.
func (d *Database) rotateRoot(ctx context.Context, username, password string, stmts []string, vars map[string]string) error {
	db, err := d.exclusive()
	if err != nil {
		return fmt.Errorf("rotate root %q: %w", username, err)
	}
	defer d.mu.Unlock()
	d.secrets.add(password) // from now on the root password: redact it always
	if err := inTx(ctx, db, stmts, vars); err != nil {
		return fmt.Errorf("rotate root %q: %w", username, err)
	}
	cfg := d.cfg
	if cfg.Username == username || cfg.Username == "" {
		cfg.Password = password
	}
	connCfg, err := parseConnConfig(cfg, cfg.Password)
	if err != nil {
		return fmt.Errorf("rotate root %q: password changed; reconnecting: %w", username, err)
	}
	if connCfg.User == username {
		connCfg.Password = password
	}
	newDB := openDB(cfg, connCfg)
	old := d.db
	d.cfg, d.connCfg, d.db = cfg, connCfg, newDB
	old.Close()
	if err := newDB.PingContext(ctx); err != nil {
		return fmt.Errorf("rotate root %q: password changed; reconnecting: %w", username, err)
	}
	return nil
}

func (d *Database) changeExpiration(ctx context.Context, username string, ce *dbplugin.ChangeExpiration) error {
	stmts := ce.Statements.Commands
	if countStatements(stmts) == 0 {
		stmts = []string{defaultExpirationStatement}
	}
	vars := map[string]string{
		"name": username, "username": username,
		"expiration": formatExpiration(ce.NewExpiration),
	}
	db, err := d.shared()
	if err != nil {
		return fmt.Errorf("change expiration of %q: %w", username, err)
	}
	defer d.mu.RUnlock()
	if err := inTx(ctx, db, stmts, vars); err != nil {
		return fmt.Errorf("change expiration of %q: %w", username, err)
	}
	return nil
}

// inTxOnce runs commands in one transaction, committed when all succeed.
func inTxOnce(ctx context.Context, db *sql.DB, commands []string, vars map[string]string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if _, err := execCommands(ctx, tx, commands, vars); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// formatExpiration renders t for {{expiration}}; the zero time means no
// expiration ('infinity').
func formatExpiration(t time.Time) string {
	if t.IsZero() {
		return "infinity"
	}
	return t.Format(ExpirationFormat)
}

// checkPassword rejects a password that cannot be substituted into
// '{{password}}' safely.
func checkPassword(p string) error {
	if strings.ContainsAny(p, "'\x00") {
		return fmt.Errorf("%w: password holds a single quote or NUL", ErrInvalidRequest)
	}
	return nil
}
