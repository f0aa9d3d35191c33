package database_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

// The MySQL scenarios need a MySQL or MariaDB server on which root has
// an empty password (SECRETUM_TEST_MYSQL_ADDR, default 127.0.0.1:3306).
// They fail, never skip, when it cannot be reached. The real root is
// only used to create and drop the test's own users.

func mysqlAddr() string {
	if a := os.Getenv("SECRETUM_TEST_MYSQL_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:3306"
}

// mysqlOpen opens a one-connection pool logged in as user.
func mysqlOpen(user, password string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = user, password, "tcp", mysqlAddr()
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db, nil
}

// mysqlQuote is a MySQL string literal.
func mysqlQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// mysqlServer is the MySQL target of the scenarios.
func mysqlServer(t *testing.T) *server {
	t.Helper()
	_ = mysql.SetLogger(mysql.Logger(nopLogger{}))
	root, err := mysqlOpen("root", "")
	if err != nil {
		t.Fatal(err)
	}
	root.SetMaxOpenConns(4)
	t.Cleanup(func() { _ = root.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := root.PingContext(ctx); err != nil {
		t.Fatalf("MySQL/MariaDB at %s as root (empty password) is needed: %v", mysqlAddr(), err)
	}
	exec := func(t testing.TB, q string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := root.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", strings.Fields(q)[0], err)
		}
	}
	drop := func(prefix string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rows, err := root.QueryContext(ctx, "SELECT User, Host FROM mysql.user WHERE LEFT(User, ?) = ?", len(prefix), prefix)
		if err != nil {
			return
		}
		var accounts []string
		for rows.Next() {
			var u, h string
			if rows.Scan(&u, &h) == nil {
				accounts = append(accounts, mysqlQuote(u)+"@"+mysqlQuote(h))
			}
		}
		_ = rows.Close()
		for _, a := range accounts {
			_, _ = root.ExecContext(ctx, "DROP USER IF EXISTS "+a)
		}
	}
	gateDB := randomName("svgate_", 8)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+gateDB)
	})
	return &server{
		plugin:  mysqlplugin.TypeName,
		plugins: map[string]func() dbplugin.Database{mysqlplugin.TypeName: func() dbplugin.Database { return mysqlplugin.New() }},
		url:     "{{username}}:{{password}}@tcp(" + mysqlAddr() + ")/",
		newAdmin: func(t testing.TB) (string, string) {
			name, pw := randomName("svadm_", 10), randomName("Adm-", 16)
			exec(t, "CREATE USER "+mysqlQuote(name)+"@'%' IDENTIFIED BY "+mysqlQuote(pw))
			t.Cleanup(func() { drop(name) })
			exec(t, "GRANT ALL PRIVILEGES ON *.* TO "+mysqlQuote(name)+"@'%' WITH GRANT OPTION")
			return name, pw
		},
		creation:    []string{`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON *.* TO '{{name}}'@'%';`},
		badCreation: []string{`CREATE USER '{{name}}'@'%' BOGUS IDENTIFIED BY '{{password}}'`},
		login: func(ctx context.Context, user, password string) (string, error) {
			db, err := mysqlOpen(user, password)
			if err != nil {
				return "", err
			}
			defer func() { _ = db.Close() }()
			var got string
			err = db.QueryRowContext(ctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)").Scan(&got)
			return got, err
		},
		exists: func(t testing.TB, user string) bool {
			var n int
			if err := root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", user).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		},
		createUser: func(t testing.TB, user, password string) {
			exec(t, "CREATE USER "+mysqlQuote(user)+"@'%' IDENTIFIED BY "+mysqlQuote(password))
			t.Cleanup(func() { drop(user) })
		},
		expiration: func(testing.TB, string) (time.Time, bool) { return time.Time{}, false },
		gate:       func(t testing.TB) { exec(t, "DROP DATABASE IF EXISTS "+gateDB) },
		ungate: func(t testing.TB) {
			exec(t, "CREATE DATABASE IF NOT EXISTS "+gateDB)
			exec(t, "CREATE TABLE IF NOT EXISTS "+gateDB+".g (x INT)")
		},
		gateStatements: []string{"SELECT COUNT(*) FROM " + gateDB + ".g", `ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`},
		cleanup:        drop,
		setPassword: func(t testing.TB, user, password string) {
			exec(t, "ALTER USER "+mysqlQuote(user)+"@'%' IDENTIFIED BY "+mysqlQuote(password))
		},
		downURL: "{{username}}:{{password}}@tcp(127.0.0.1:1)/",
	}
}

// nopLogger silences the driver's own log of refused logins.
type nopLogger struct{}

func (nopLogger) Print(...any) {}

func TestMySQL(t *testing.T) { runScenarios(t, mysqlServer(t)) }
