package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

// Vault's documented creation statement grants on every table of a
// schema; concurrent runs make PostgreSQL fail some with "tuple
// concurrently updated". The plugin runs such a transaction again, so
// every request gets a user that logs in and reads the table.
func TestNewUserConcurrentGrants(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg, func(c *dbplugin.Config) { c.MaxOpenConnections = 8 })
	conn := superConn(t, pg)
	ctx := testCtx(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE shared (v int); INSERT INTO shared VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	grant := `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';
GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`
	const n = 16
	var wg sync.WaitGroup
	names, errs := make([]string, n), make([]error, n)
	for i := range n {
		wg.Go(func() {
			resp, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "grant", RoleName: "grant"},
				Statements:     dbplugin.Statements{Commands: []string{grant}},
				Password:       fmt.Sprintf("pw-%d", i),
				Expiration:     time.Now().Add(time.Hour),
			})
			names[i], errs[i] = resp.Username, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("NewUser %d: %v", i, errs[i])
		}
		var v int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = $1 AND table_name = 'shared'`, names[i]).Scan(&v); err != nil || v != 1 {
			t.Fatalf("user %q: grants on shared = %d (%v), want 1", names[i], v, err)
		}
		if err := login(ctx, pg, names[i], fmt.Sprintf("pw-%d", i)); err != nil {
			t.Fatalf("login %q: %v", names[i], err)
		}
	}
}
