package core_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// systemPostgres is the machine's PostgreSQL (127.0.0.1:5432, trust
// auth): the benchmark measures the server's and the engine's work, not
// password checks.
const systemPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// benchRolePrefix starts the benchmark's usernames (Vault's template:
// v-<display name>-<role>-<random>-<time>).
const benchRolePrefix = "v-token-bench-"

// dropBenchRoles drops the roles named benchRolePrefix*.
func dropBenchRoles(b *testing.B, db *sql.DB) {
	rows, err := db.Query(`SELECT rolname FROM pg_roles WHERE left(rolname, $1) = $2`, len(benchRolePrefix), benchRolePrefix)
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			b.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		_, _ = db.Exec(`DROP ROLE IF EXISTS "` + n + `"`)
	}
}

// BenchmarkDatabaseCredsIssueRevokePostgres measures one lease's whole
// life on PostgreSQL per op: database/creds (CREATE ROLE, the lease
// stored) then sys/leases/revoke (the plugin's default revocation:
// privileges revoked, sessions ended, DROP ROLE; the lease deleted).
// "seq" runs them one after another, "par" from 8 clients at once.
//
//	go test -run '^$' -bench CredsIssueRevokePostgres -benchtime 300x ./server/core/
func BenchmarkDatabaseCredsIssueRevokePostgres(b *testing.B) {
	db, err := sql.Open("pgx", systemPostgres)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		b.Fatalf("PostgreSQL at 127.0.0.1:5432 is required: %v", err)
	}
	dropBenchRoles(b, db) // what an interrupted earlier run left
	b.Cleanup(func() { dropBenchRoles(b, db) })
	c, res := newCoreWith(b, core.Config{Physical: inmem.New()})
	root := res.RootToken
	mustDoB(b, c, root, logical.UpdateOperation, "sys/mounts/database", map[string]any{"type": "database"})
	mustDoB(b, c, root, logical.UpdateOperation, "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "connection_url": "postgres://{{username}}:{{password}}@127.0.0.1:5432/test?sslmode=disable",
		"username": "postgres", "password": "unused-trust-auth", "allowed_roles": "*", "max_open_connections": 8,
	})
	mustDoB(b, c, root, logical.UpdateOperation, "database/roles/bench", map[string]any{
		"db_name":             "pg",
		"creation_statements": `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		"default_ttl":         "1h", "max_ttl": "2h",
	})
	exists := func(user string) bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_roles WHERE rolname = $1`, user).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n == 1
	}
	// One checked cycle: the role exists while leased, and is gone after.
	first := mustDoB(b, c, root, logical.ReadOperation, "database/creds/bench", nil)
	user := first.Data["username"].(string)
	if !strings.HasPrefix(user, benchRolePrefix) || !exists(user) {
		b.Fatalf("creds user %q is not in pg_roles", user)
	}
	mustDoB(b, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": first.Secret.LeaseID})
	if exists(user) {
		b.Fatalf("revoked user %q is still in pg_roles", user)
	}
	cycle := func() {
		resp := mustDoB(b, c, root, logical.ReadOperation, "database/creds/bench", nil)
		mustDoB(b, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": resp.Secret.LeaseID})
	}
	b.Run("seq", func(b *testing.B) {
		for b.Loop() {
			cycle()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("par", func(b *testing.B) {
		b.SetParallelism(4) // 8 clients on 2 cores
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cycle()
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	})
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM pg_roles WHERE left(rolname, $1) = $2`, len(benchRolePrefix), benchRolePrefix).Scan(&left); err != nil {
		b.Fatal(err)
	}
	if left != 0 {
		b.Fatalf("%d roles left after every lease was revoked", left)
	}
}
