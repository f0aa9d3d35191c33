package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// SQLSTATEs of a refused login: invalid_password (a wrong password, an
// expired VALID UNTIL) and invalid_authorization_specification (an
// unknown role, a role without LOGIN, no pg_hba.conf entry).
const (
	sqlstateInvalidPassword      = "28P01"
	sqlstateInvalidAuthorization = "28000"
)

// VerifyCredentials implements dbplugin.Database: it opens one session
// as username with password (the connection URL's host, port, database
// and TLS settings) and closes it. SQLSTATE 28P01 and 28000 match
// dbplugin.ErrAuthFailed.
func (d *Database) VerifyCredentials(ctx context.Context, username, password string) error {
	d.mu.RLock()
	if d.state != stateReady {
		d.mu.RUnlock()
		return dbplugin.ErrNotInitialized
	}
	cc := d.connCfg.Copy()
	d.mu.RUnlock()
	cc.User, cc.Password = username, password
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == sqlstateInvalidPassword || pgErr.Code == sqlstateInvalidAuthorization) {
			err = fmt.Errorf("%w: %w", dbplugin.ErrAuthFailed, err)
		}
		return d.secrets.redact(fmt.Errorf("postgres: log in as %q: %w", username, err), password)
	}
	if err := conn.Close(ctx); err != nil {
		return d.secrets.redact(fmt.Errorf("postgres: log out %q: %w", username, err), password)
	}
	return nil
}
