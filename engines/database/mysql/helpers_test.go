package mysql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

// The tests need a real MySQL or MariaDB server on which root has an
// empty password (SECRETUM_TEST_MYSQL_ADDR, default 127.0.0.1:3306).
// They fail, never skip, when it cannot be reached.

// TestMain silences the driver's log of connections the tests kill.
func TestMain(m *testing.M) {
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	os.Exit(m.Run())
}

// createStmt is Vault's documented creation statement for MySQL.
const createStmt = `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON *.* TO '{{name}}'@'%';`

// testAddr is the server's address.
func testAddr() string {
	if a := os.Getenv("SECRETUM_TEST_MYSQL_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:3306"
}

// templatedURL is a connection URL with {{username}} and {{password}}.
func templatedURL() string { return "{{username}}:{{password}}@tcp(" + testAddr() + ")/" }

// testCtx is a context bounded so that a hung server fails the test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openAs opens a one-connection pool logged in as user.
func openAs(user, password string) *sql.DB {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = user, password, "tcp", testAddr()
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		panic(err) // a fixed, valid config
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	return db
}

// rootDB returns the server as root, failing the test when it is down.
func rootDB(t *testing.T) *sql.DB {
	t.Helper()
	db := openAs("root", "")
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(testCtx(t)); err != nil {
		t.Fatalf("MySQL/MariaDB at %s as root (empty password) is needed: %v", testAddr(), err)
	}
	return db
}

// login logs in as user and runs a query; nil means the password works.
func login(t *testing.T, user, password string) error {
	t.Helper()
	db := openAs(user, password)
	defer func() { _ = db.Close() }()
	var got string
	if err := db.QueryRowContext(testCtx(t), "SELECT CURRENT_USER()").Scan(&got); err != nil {
		return err
	}
	return nil
}

// userExists reports whether mysql.user has an account named name.
func userExists(t *testing.T, root *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := root.QueryRowContext(testCtx(t), "SELECT COUNT(*) FROM mysql.user WHERE User = ?", name).Scan(&n); err != nil {
		t.Fatalf("look up %q: %v", name, err)
	}
	return n > 0
}

// dropLater drops every account named name when the test ends.
func dropLater(t *testing.T, root *sql.DB, name string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rows, err := root.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ?", name)
		if err != nil {
			t.Errorf("cleanup %q: %v", name, err)
			return
		}
		var hosts []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err == nil {
				hosts = append(hosts, h)
			}
		}
		_ = rows.Close()
		for _, h := range hosts {
			if _, err := root.ExecContext(ctx, "DROP USER IF EXISTS "+sqlString(name)+"@"+sqlString(h)); err != nil {
				t.Errorf("cleanup %q@%q: %v", name, h, err)
			}
		}
	})
}

// randomSuffix returns n random hex characters.
func randomSuffix(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// rootConfig is a config that logs in as root.
func rootConfig() dbplugin.Config {
	return dbplugin.Config{ConnectionURL: templatedURL(), Username: "root", VerifyConnection: true}
}

// newPlugin initializes a mysql-database-plugin with cfg and closes it
// when the test ends.
func newPlugin(t *testing.T, cfg dbplugin.Config) *mysqlplugin.Database {
	t.Helper()
	db := mysqlplugin.New()
	if err := db.Initialize(testCtx(t), cfg); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newUser creates a user with statements and drops it when the test
// ends.
func newUser(t *testing.T, db *mysqlplugin.Database, root *sql.DB, password string, stmts ...string) string {
	t.Helper()
	resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
		UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "token", RoleName: "readonly"},
		Statements:     dbplugin.Statements{Commands: stmts},
		Password:       password,
		Expiration:     time.Now().Add(time.Hour),
	})
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	dropLater(t, root, resp.Username)
	return resp.Username
}

// adminUser creates a dedicated admin (all privileges, WITH GRANT
// OPTION) for root rotation tests, so the real root's password is never
// changed, and drops it when the test ends.
func adminUser(t *testing.T, root *sql.DB, password string) string {
	t.Helper()
	name := "svadm_" + randomSuffix(10)
	ctx := testCtx(t)
	if _, err := root.ExecContext(ctx, "CREATE USER "+sqlString(name)+"@'%' IDENTIFIED BY "+sqlString(password)); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	dropLater(t, root, name)
	if _, err := root.ExecContext(ctx, "GRANT ALL PRIVILEGES ON *.* TO "+sqlString(name)+"@'%' WITH GRANT OPTION"); err != nil {
		t.Fatalf("grant admin: %v", err)
	}
	return name
}

// newPassword returns a password with characters that need escaping in
// SQL strings and DSNs.
func newPassword() string { return "Pw-" + randomSuffix(16) + `'"\;@/:` + "`" }

// sqlString renders s as a '...' literal (the tests' own quoting).
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}
