package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// MySQL/MariaDB error numbers the plugin expects.
const (
	errUnknownThread   = 1094 // KILL of a connection that is gone
	errCannotRevokeAll = 1269 // REVOKE ALL for a user dropped meanwhile
)

const (
	// cleanupTimeout bounds the drop of a half-created user, which runs
	// even when the request's context is done.
	cleanupTimeout = 30 * time.Second
	// killRounds bounds the rounds of KILL for a deleted user's sessions.
	killRounds = 5
	// killPause is the pause between two rounds.
	killPause = 20 * time.Millisecond
)

// txBeginner is what runs a transaction: *sql.DB or *sql.Conn.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// prepare splits entries into statements and substitutes vals; it fails
// before anything runs.
func prepare(entries []string, vals placeholders) ([]string, error) {
	var out []string
	for _, e := range entries {
		for _, s := range splitStatements(e) {
			q, err := substitute(s, vals)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
			}
			out = append(out, q)
		}
	}
	return out, nil
}

// runInTx runs stmts in one transaction and commits; a statement that
// fails with one of the ignore error numbers does not stop it.
// Statements are sent as text (no arguments, so no prepared statements),
// which every MySQL command supports.
func runInTx(ctx context.Context, on txBeginner, stmts []string, ignore ...uint16) error {
	if len(stmts) == 0 {
		return nil
	}
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil && !isMySQLError(err, ignore...) {
			return fmt.Errorf("statement %d of %d: %w", i+1, len(stmts), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// userHosts returns the hosts of the accounts named username.
func userHosts(ctx context.Context, db *sql.DB, username string) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ?", username)
	if err != nil {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("look up user: %w", err)
		}
		hosts = append(hosts, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up user: %w", err)
	}
	return hosts, nil
}

// createUser runs req's creation statements for username, undoing a
// partial creation when they fail.
func createUser(ctx context.Context, db *sql.DB, username string, req dbplugin.NewUserRequest) error {
	vals := placeholders{
		"name": username, "username": username, "password": req.Password,
		"expiration": req.Expiration.Format(expirationLayout),
	}
	stmts, err := prepare(req.Statements.Commands, vals)
	if err != nil {
		return err
	}
	if len(stmts) == 0 {
		return fmt.Errorf("%w: creation statements are blank", ErrNoStatements)
	}
	hosts, err := userHosts(ctx, db, username)
	if err != nil {
		return err
	}
	if len(hosts) > 0 {
		return ErrUserExists
	}
	if err := runInTx(ctx, db, stmts); err != nil {
		if cerr := undoCreate(ctx, db, username, req.RollbackStatements.Commands, vals); cerr != nil {
			return errors.Join(err, fmt.Errorf("undo: %w", cerr))
		}
		return err
	}
	return nil
}

// undoCreate runs the rollback statements, if any, then drops every
// account named username: the name was free before the creation began,
// so whatever holds it now is the half-created user.
func undoCreate(ctx context.Context, db *sql.DB, username string, rollback []string, vals placeholders) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var errs []error
	if len(rollback) > 0 {
		stmts, err := prepare(rollback, vals)
		if err == nil {
			err = runInTx(ctx, db, stmts)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rollback statements: %w", err))
		}
	}
	hosts, err := userHosts(ctx, db, username)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var drops []string
	for _, h := range hosts {
		drops = append(drops, "DROP USER IF EXISTS "+quoteString(username)+"@"+quoteString(h))
	}
	if err := runInTx(ctx, db, drops); err != nil {
		errs = append(errs, fmt.Errorf("drop user: %w", err))
	}
	return errors.Join(errs...)
}

// changePassword runs the rotation statements for username; for the root
// user it holds the pool's credentials while they run, so that no
// connection is opened with a password that is being replaced, and
// records the new one when they succeed.
func changePassword(ctx context.Context, db *sql.DB, creds *credentials, username string, ch dbplugin.ChangePassword) error {
	if ch.NewPassword == "" {
		return fmt.Errorf("%w: new password is empty", ErrInvalidRequest)
	}
	entries := ch.Statements.Commands
	if len(entries) == 0 {
		entries = []string{DefaultRotationStatement}
	}
	stmts, err := prepare(entries, placeholders{"name": username, "username": username, "password": ch.NewPassword})
	if err != nil {
		return err
	}
	if !creds.isRoot(username) {
		return runInTx(ctx, db, stmts)
	}
	conn, err := db.Conn(ctx) // taken first: holding creds blocks new connections
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	creds.mu.Lock()
	defer creds.mu.Unlock()
	if err := runInTx(ctx, conn, stmts); err != nil {
		return err
	}
	creds.rotatedLocked(username, ch.NewPassword)
	return nil
}

// changeExpiration runs the renewal statements for username.
func changeExpiration(ctx context.Context, db *sql.DB, username string, ch dbplugin.ChangeExpiration) error {
	stmts, err := prepare(ch.Statements.Commands, placeholders{
		"name": username, "username": username, "expiration": ch.NewExpiration.Format(expirationLayout),
	})
	if err != nil {
		return err
	}
	return runInTx(ctx, db, stmts)
}

// deleteUser runs the revocation statements (default: revoke and drop
// on every host) and then ends the user's sessions.
func deleteUser(ctx context.Context, db *sql.DB, username string, entries []string) error {
	var stmts []string
	if len(entries) > 0 {
		var err error
		if stmts, err = prepare(entries, placeholders{"name": username, "username": username}); err != nil {
			return err
		}
	} else {
		hosts, err := userHosts(ctx, db, username)
		if err != nil {
			return err
		}
		for _, h := range hosts {
			account := quoteString(username) + "@" + quoteString(h)
			stmts = append(stmts, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM "+account, "DROP USER IF EXISTS "+account)
		}
	}
	// A REVOKE ALL fails when a concurrent revocation dropped the user.
	if err := runInTx(ctx, db, stmts, errCannotRevokeAll); err != nil {
		return err
	}
	return killSessions(ctx, db, username)
}

// killSessions kills every connection of username but the caller's own,
// in rounds until none is left that is not already being killed.
func killSessions(ctx context.Context, db *sql.DB, username string) error {
	for round := 1; ; round++ {
		ids, err := sessionIDs(ctx, db, username)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		if round > killRounds {
			return fmt.Errorf("end sessions: %d still open after %d rounds", len(ids), killRounds)
		}
		for _, id := range ids {
			if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil &&
				!isMySQLError(err, errUnknownThread) {
				return fmt.Errorf("end session %d: %w", id, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("end sessions: %w", ctx.Err())
		case <-time.After(killPause):
		}
	}
}

// sessionIDs lists username's connections that are not being killed.
func sessionIDs(ctx context.Context, db *sql.DB, username string) ([]uint64, error) {
	rows, err := db.QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST
		WHERE USER = ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Killed'`, username)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ids []uint64
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ids, nil
}

// isMySQLError reports whether err is a server error with one of the
// numbers.
func isMySQLError(err error, numbers ...uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && slices.Contains(numbers, me.Number)
}
