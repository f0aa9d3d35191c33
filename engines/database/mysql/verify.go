package mysql

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
)

// Server errors of a refused login: ER_ACCESS_DENIED_ERROR (a wrong
// password or an unknown user) and ER_ACCESS_DENIED_NO_PASSWORD_ERROR
// (MariaDB's answer for some unknown users and plugin mismatches).
const (
	erAccessDenied           = 1045
	erAccessDeniedNoPassword = 1698
)

// VerifyCredentials implements dbplugin.Database: it opens one
// connection as username with password (the DSN's address, TLS and
// parameters) and closes it. Errors 1045 and 1698 match dbplugin.ErrAuthFailed.
func (d *Database) VerifyCredentials(ctx context.Context, username, password string) error {
	d.mu.RLock()
	if d.db == nil {
		d.mu.RUnlock()
		return dbplugin.ErrNotInitialized
	}
	mc := d.driver.Clone()
	d.mu.RUnlock()
	mc.User, mc.Passwd = username, password
	// The pool's hook would log in with the pool's own password.
	if err := mc.Apply(mysql.BeforeConnect(nil)); err != nil {
		return fmt.Errorf("mysql: log in as %q: %w", username, err)
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return fmt.Errorf("mysql: log in as %q: %w", username, redact(err, false, password))
	}
	conn, err := connector.Connect(ctx)
	if err != nil {
		var myErr *mysql.MySQLError
		if errors.As(err, &myErr) && (myErr.Number == erAccessDenied || myErr.Number == erAccessDeniedNoPassword) {
			err = fmt.Errorf("%w: %w", dbplugin.ErrAuthFailed, err)
		}
		return fmt.Errorf("mysql: log in as %q: %w", username, redact(err, false, password))
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("mysql: log out %q: %w", username, redact(err, false, password))
	}
	return nil
}
