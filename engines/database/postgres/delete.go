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

// sessionsTimeout bounds how long DeleteUser waits for a user's sessions
// to end after asking the server to terminate them.
const sessionsTimeout = 10 * time.Second

// sessionsPoll is how often DeleteUser looks for remaining sessions.
const sessionsPoll = 20 * time.Millisecond

// DeleteUser removes a user; a user that does not exist is already
// deleted (success).
//
// With empty Statements it does what Vault's plugin does, and more: it
// sets the role NOLOGIN, terminates the role's sessions and waits (up to
// 10 s) until they are gone, then in one transaction reassigns what the
// role owns to the plugin's user, drops what remains (its privileges) and
// drops the role. When that transaction fails (for example the plugin's
// user may not REASSIGN), it revokes the privileges Vault's plugin
// revokes and drops the role. Failing to end a session is an error, and
// the role is then kept, so that a retry can find its sessions again.
//
// With Statements it runs them in one transaction with {{name}} and
// {{username}} substituted, and nothing else, when the role exists.
func (d *Database) DeleteUser(ctx context.Context, req dbplugin.DeleteUserRequest) error {
	return d.secrets.redact(d.deleteUser(ctx, req))
}

func (d *Database) deleteUser(ctx context.Context, req dbplugin.DeleteUserRequest) error {
	if req.Username == "" || strings.ContainsRune(req.Username, 0) {
		return fmt.Errorf("%w: delete user: empty username or NUL in it", ErrInvalidRequest)
	}
	db, err := d.shared()
	if err != nil {
		return fmt.Errorf("delete user %q: %w", req.Username, err)
	}
	defer d.mu.RUnlock()
	if countStatements(req.Statements.Commands) == 0 {
		if err := defaultDeleteUser(ctx, db, req.Username); err != nil {
			return fmt.Errorf("delete user %q: %w", req.Username, err)
		}
		return nil
	}
	if err := checkUsername(req.Username); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if exists, err := roleExists(ctx, db, req.Username); err != nil || !exists {
		return err
	}
	vars := map[string]string{"name": req.Username, "username": req.Username}
	if err := inTx(ctx, db, req.Statements.Commands, vars); err != nil {
		return fmt.Errorf("delete user %q: revocation statements: %w", req.Username, err)
	}
	return nil
}

func roleExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("looking up role %q: %w", name, err)
	}
	return exists, nil
}

func defaultDeleteUser(ctx context.Context, db *sql.DB, name string) error {
	if exists, err := roleExists(ctx, db, name); err != nil || !exists {
		return err
	}
	q := quoteIdent(name)
	var soft []error // errors that matter only if the role survives
	if _, err := db.ExecContext(ctx, `ALTER ROLE `+q+` NOLOGIN`); err != nil {
		soft = append(soft, fmt.Errorf("NOLOGIN: %w", err))
	}
	if err := terminateSessions(ctx, db, name); err != nil {
		return err
	}
	err := execExactTx(ctx, db,
		`REASSIGN OWNED BY `+q+` TO CURRENT_USER`,
		`DROP OWNED BY `+q,
		`DROP ROLE IF EXISTS `+q)
	if err == nil {
		return nil
	}
	soft = append(soft, fmt.Errorf("reassign/drop owned: %w", err))
	soft = append(soft, revokeLikeVault(ctx, db, name)...)
	if _, err := db.ExecContext(ctx, `DROP ROLE IF EXISTS `+q); err != nil {
		return errors.Join(append(soft, fmt.Errorf("drop role: %w", err))...)
	}
	return nil
}

// terminateSessions asks the server to end every session of name (but
// ours) and waits until none is left.
func terminateSessions(ctx context.Context, db *sql.DB, name string) error {
	ctx, cancel := context.WithTimeout(ctx, sessionsTimeout)
	defer cancel()
	for {
		pids, err := sessionPIDs(ctx, db, name)
		if err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			// false: the session ended meanwhile.
			if _, err := db.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
				return fmt.Errorf("ending session %d: %w", pid, err)
			}
		}
		t := time.NewTimer(sessionsPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ending sessions: %d still running: %w", len(pids), ctx.Err())
		case <-t.C:
		}
	}
}

func sessionPIDs(ctx context.Context, db *sql.DB, name string) ([]int32, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT pid FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pids []int32
	for rows.Next() {
		var pid int32
		if err := rows.Scan(&pid); err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	return pids, rows.Err()
}

// revokeLikeVault revokes what Vault's default revocation revokes, each
// statement on its own, carrying on past failures.
func revokeLikeVault(ctx context.Context, db *sql.DB, name string) []error {
	q := quoteIdent(name)
	stmts := []string{
		`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM ` + q,
		`REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM ` + q,
		`REVOKE USAGE ON SCHEMA public FROM ` + q,
	}
	var errs []error
	schemas, err := grantSchemas(ctx, db, name)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing granted schemas: %w", err))
	}
	for _, s := range schemas {
		stmts = append(stmts,
			`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA `+quoteIdent(s)+` FROM `+q,
			`REVOKE USAGE ON SCHEMA `+quoteIdent(s)+` FROM `+q)
	}
	var dbname string
	if err := db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbname); err != nil {
		errs = append(errs, fmt.Errorf("current database: %w", err))
	} else {
		stmts = append(stmts, `REVOKE CONNECT ON DATABASE `+quoteIdent(dbname)+` FROM `+q)
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("revoke: %w", err))
		}
	}
	return errs
}

func grantSchemas(ctx context.Context, db *sql.DB, name string) ([]string, error) {
	rows, err := db.QueryContext(ctx,
		`SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = $1`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// execExactTx runs statements, as they are, in one transaction.
func execExactTx(ctx context.Context, db *sql.DB, stmts ...string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: ErrTxDone
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// quoteIdent quotes an identifier as PostgreSQL's quote_ident does for a
// name that needs quoting (callers reject NUL, which cannot be quoted).
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
