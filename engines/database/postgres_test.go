package database_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	pgplugin "github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

// postgresServer is the PostgreSQL target of the scenarios: a throwaway
// server that checks passwords (dbtest), managed by a CREATEROLE admin
// that is not a superuser, as Vault's documentation recommends.
func postgresServer(t *testing.T) *server {
	t.Helper()
	pg := dbtest.StartPostgres(t)
	su := func(t testing.TB, sql string, args ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			t.Fatalf("superuser: %v", err)
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("superuser: %v", err)
		}
	}
	query := func(t testing.TB, sql string, args []any, dest ...any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			t.Fatalf("superuser: %v", err)
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
			t.Fatalf("superuser query: %v", err)
		}
	}
	gate := pgx.Identifier{randomName("svgate_", 8)}.Sanitize()
	return &server{
		plugin:  pgplugin.TypeName,
		plugins: map[string]func() dbplugin.Database{pgplugin.TypeName: func() dbplugin.Database { return pgplugin.New() }},
		url:     pg.TemplateURL(),
		newAdmin: func(t testing.TB) (string, string) {
			name, pw := randomName("svadm_", 10), randomName("Adm-", 16)
			su(t, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN CREATEROLE PASSWORD '"+pw+"'")
			su(t, "GRANT pg_signal_backend TO "+pgx.Identifier{name}.Sanitize())
			return name, pw
		},
		// Not Vault's example GRANT SELECT ON ALL TABLES: concurrent
		// grants on one table's ACL fail with "tuple concurrently updated"
		// (a PostgreSQL limitation); a role membership does not.
		creation:    []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`},
		badCreation: []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; SELECT '{{password}}'::int`},
		login: func(ctx context.Context, user, password string) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, pg.URLFor(user, password))
			if err != nil {
				return "", err
			}
			defer func() { _ = conn.Close(context.Background()) }()
			var got string
			err = conn.QueryRow(ctx, "SELECT current_user").Scan(&got)
			return got, err
		},
		exists: func(t testing.TB, user string) bool {
			var n int
			query(t, "SELECT count(*) FROM pg_roles WHERE rolname = $1", []any{user}, &n)
			return n > 0
		},
		createUser: func(t testing.TB, user, password string) {
			su(t, "CREATE ROLE "+pgx.Identifier{user}.Sanitize()+" LOGIN PASSWORD '"+password+"'")
		},
		expiration: func(t testing.TB, user string) (time.Time, bool) {
			var exp *time.Time
			query(t, "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1", []any{user}, &exp)
			if exp == nil {
				t.Fatalf("user %q has no expiration", user)
			}
			return *exp, true
		},
		gate: func(t testing.TB) { su(t, "DROP TABLE IF EXISTS "+gate) },
		ungate: func(t testing.TB) {
			su(t, "CREATE TABLE IF NOT EXISTS "+gate+" (x int)")
			su(t, "GRANT SELECT ON "+gate+" TO PUBLIC")
		},
		gateStatements: []string{"SELECT count(*) FROM " + gate, `ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}'`},
		// The server is thrown away with its users when the test ends.
		cleanup: func(string) {},
		setPassword: func(t testing.TB, user, password string) {
			su(t, "ALTER ROLE "+pgx.Identifier{user}.Sanitize()+" PASSWORD '"+password+"'")
		},
		downURL: "postgres://{{username}}:{{password}}@127.0.0.1:1/postgres?sslmode=disable",
	}
}

func TestPostgres(t *testing.T) { runScenarios(t, postgresServer(t)) }
