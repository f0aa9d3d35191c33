package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

// createStmt is the creation statement of Vault's documentation.
const createStmt = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`

// testCtx bounds a test's database calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDatabase initializes a plugin as the server's superuser, with the
// URL templated as an engine config holds it; mods adjust the config.
func newDatabase(t *testing.T, pg *dbtest.Postgres, mods ...func(*dbplugin.Config)) *postgres.Database {
	t.Helper()
	cfg := dbplugin.Config{
		ConnectionURL:    pg.TemplateURL(),
		Username:         pg.SuperUser(),
		Password:         pg.Password(),
		VerifyConnection: true,
	}
	for _, m := range mods {
		m(&cfg)
	}
	db := postgres.New()
	if err := db.Initialize(testCtx(t), cfg); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// superConn is a superuser session for inspecting the server.
func superConn(t *testing.T, pg *dbtest.Postgres) *pgx.Conn {
	t.Helper()
	ctx := testCtx(t)
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatalf("superuser connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// login connects as user and runs a query.
func login(ctx context.Context, pg *dbtest.Postgres, user, password string) error {
	conn, err := pgx.Connect(ctx, pg.URLFor(user, password))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var got string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&got); err != nil {
		return err
	}
	if got != user {
		return &wrongUser{got}
	}
	return nil
}

type wrongUser struct{ got string }

func (w *wrongUser) Error() string { return "logged in as " + w.got }

func roleExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var ok bool
	if err := conn.QueryRow(testCtx(t), `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, name).Scan(&ok); err != nil {
		t.Fatalf("pg_roles: %v", err)
	}
	return ok
}

func validUntil(t *testing.T, conn *pgx.Conn, name string) time.Time {
	t.Helper()
	var ts time.Time
	if err := conn.QueryRow(testCtx(t), `SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1`, name).Scan(&ts); err != nil {
		t.Fatalf("rolvaliduntil of %q: %v", name, err)
	}
	return ts
}

// newUser creates a user with createStmt and the given password.
func newUser(t *testing.T, db *postgres.Database, password string, exp time.Time) string {
	t.Helper()
	resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
		UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "token", RoleName: "app"},
		Statements:     dbplugin.Statements{Commands: []string{createStmt}},
		Password:       password,
		Expiration:     exp,
	})
	if err != nil {
		t.Fatalf("NewUser: %v", err)
	}
	return resp.Username
}

// assertNoSecret fails when err's text holds a secret (or its URL form).
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error holds a password: %v", err)
		}
	}
}
