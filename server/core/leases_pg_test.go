package core_test

import (
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/internal/dbtest"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// TestRevocationRetriesWhileTheDatabaseIsDown: a lease expiring while its
// database is down is retried (with backoff) and revoked once the server
// is back; the credentials then stop working.
func TestRevocationRetriesWhileTheDatabaseIsDown(t *testing.T) {
	pg := dbtest.StartPostgres(t)
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), LeaseBackoff: 300 * time.Millisecond})
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/database", map[string]any{"type": "database"})
	mustDo(t, c, root, logical.UpdateOperation, "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "connection_url": pg.TemplateURL(),
		"username": pg.SuperUser(), "password": pg.Password(), "allowed_roles": "app",
	})
	mustDo(t, c, root, logical.UpdateOperation, "database/roles/app", map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         "2s", "max_ttl": "1h",
	})
	resp := mustDo(t, c, root, logical.ReadOperation, "database/creds/app", nil)
	user, pw, lease := resp.Data["username"].(string), resp.Data["password"].(string), resp.Secret.LeaseID
	if !pgLogsIn(pg.URLFor(user, pw)) {
		t.Fatal("the issued credentials do not log in")
	}
	pg.Stop(t)
	expiry := time.Now().Add(2 * time.Second)
	// Past its expiry the lease is still there: revocation failed.
	eventually(t, "past the lease's expiry", 10*time.Second, func() bool { return time.Now().After(expiry.Add(time.Second)) })
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": lease}); err != nil {
		t.Fatalf("the lease is gone although its database was down: %v", err)
	}
	pg.Start(t)
	eventually(t, "the lease revoked once the database is back", 20*time.Second, func() bool {
		_, err := do(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": lease})
		return errors.Is(err, logical.ErrInvalidRequest) // Vault's "invalid lease"
	})
	if pgLogsIn(pg.URLFor(user, pw)) {
		t.Fatal("revoked credentials still log in")
	}
	db, err := sql.Open("pgx", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM pg_roles WHERE rolname = $1", user).Scan(&n); err != nil || n != 0 {
		t.Fatalf("role still in pg_roles: %d, %v", n, err)
	}
}

// pgLogsIn reports whether url logs in and runs a query.
func pgLogsIn(url string) bool {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return false
	}
	defer db.Close()
	var one int
	return db.QueryRow("SELECT 1").Scan(&one) == nil && one == 1
}
