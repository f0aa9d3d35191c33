package core_test

import (
	"database/sql"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// mariadb opens the machine's MariaDB as root (the tests fail, never
// skip, without it).
func mariadb(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", "root:@tcp(127.0.0.1:3306)/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("MariaDB at 127.0.0.1:3306 is required: %v", err)
	}
	return db
}

// userExists reports whether MariaDB has the user.
func userExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// canLogIn reports whether the credentials log in and query.
func canLogIn(t *testing.T, user, pw string) bool {
	t.Helper()
	db, err := sql.Open("mysql", user+":"+pw+"@tcp(127.0.0.1:3306)/")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	return db.QueryRow("SELECT 1").Scan(&one) == nil && one == 1
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dbCore is a core with a database mount configured against MariaDB and
// a role "app" of default TTL ttl.
func dbCore(t *testing.T, ttl string) (*core.Core, string, *sql.DB) {
	t.Helper()
	db := mariadb(t)
	c, res := newCoreWith(t, core.Config{Physical: inmem.New(), LeaseBackoff: 100 * time.Millisecond})
	root := res.RootToken
	mustDo(t, c, root, logical.UpdateOperation, "sys/mounts/database", map[string]any{"type": "database"})
	mustDo(t, c, root, logical.UpdateOperation, "database/config/my", map[string]any{
		"plugin_name": "mysql-database-plugin", "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
		"username": "root", "password": "", "allowed_roles": "*",
	})
	mustDo(t, c, root, logical.UpdateOperation, "database/roles/app", map[string]any{
		"db_name":             "my",
		"creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON test.* TO '{{name}}'@'%';",
		"default_ttl":         ttl, "max_ttl": "2h",
	})
	return c, root, db
}

// creds reads database/creds/app.
func creds(t *testing.T, c *core.Core, tok string) (user, pw, lease string) {
	t.Helper()
	resp := mustDo(t, c, tok, logical.ReadOperation, "database/creds/app", nil)
	if resp.Secret == nil || !strings.HasPrefix(resp.Secret.LeaseID, "database/creds/app/") {
		t.Fatalf("creds without a lease: %+v", resp.Secret)
	}
	user, pw = resp.Data["username"].(string), resp.Data["password"].(string)
	t.Cleanup(func() { _, _ = mariadb(t).Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	return user, pw, resp.Secret.LeaseID
}

func TestDatabaseLeases(t *testing.T) {
	c, root, db := dbCore(t, "1h")
	user, pw, lease := creds(t, c, root)
	if !canLogIn(t, user, pw) {
		t.Fatal("the issued credentials do not log in")
	}
	look := mustDo(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": lease})
	if ttl := look.Data["ttl"].(int64); ttl < 3500 || ttl > 3600 || look.Data["renewable"] != true {
		t.Fatalf("lookup = %v", look.Data)
	}
	if _, ok := look.Data["internal_data"]; ok {
		t.Fatal("lookup shows the lease's internal data")
	}
	ren := mustDo(t, c, root, logical.UpdateOperation, "sys/leases/renew", map[string]any{"lease_id": lease, "increment": "3h"})
	if ren.Secret == nil || ren.Secret.LeaseID != lease || ren.Secret.TTL > 2*time.Hour || ren.Secret.TTL < 2*time.Hour-time.Minute {
		t.Fatalf("renew past max_ttl granted %+v, want capped at 2h", ren.Secret)
	}
	keys := mustDo(t, c, root, logical.ListOperation, "sys/leases/lookup/database/creds/app", nil).Data["keys"].([]string)
	if len(keys) != 1 {
		t.Fatalf("lease list = %v", keys)
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": lease})
	if userExists(t, db, user) || canLogIn(t, user, pw) {
		t.Fatal("a revoked lease's user still exists")
	}
	if _, err := do(t, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": lease}); !errors.Is(err, logical.ErrInvalidRequest) {
		t.Fatalf("lookup of a revoked lease: %v", err)
	}
}

func TestDatabaseLeaseExpires(t *testing.T) {
	c, root, db := dbCore(t, "2s")
	user, pw, _ := creds(t, c, root)
	if !canLogIn(t, user, pw) {
		t.Fatal("the issued credentials do not log in")
	}
	eventually(t, "the expired lease's user is dropped", 20*time.Second, func() bool { return !userExists(t, db, user) })
	if canLogIn(t, user, pw) {
		t.Fatal("expired credentials still log in")
	}
}

func TestLeaseCountQuota(t *testing.T) {
	c, root, db := dbCore(t, "1h")
	mustDo(t, c, root, logical.UpdateOperation, "sys/quotas/lease-count/db", map[string]any{"path": "database/", "max_leases": 2})
	_, _, first := creds(t, c, root)
	creds(t, c, root)
	var before int
	if err := db.QueryRow("SELECT COUNT(*) FROM mysql.user").Scan(&before); err != nil {
		t.Fatal(err)
	}
	_, err := do(t, c, root, logical.ReadOperation, "database/creds/app", nil)
	var coded *logical.CodedError
	if !errors.As(err, &coded) || coded.Status != http.StatusTooManyRequests || !strings.Contains(coded.Message, `"db"`) {
		t.Fatalf("creds past the quota: %v, want a 429 naming the quota", err)
	}
	var after int
	if err := db.QueryRow("SELECT COUNT(*) FROM mysql.user").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("a refused creds request created a database user (%d -> %d)", before, after)
	}
	mustDo(t, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": first})
	creds(t, c, root)
	q := mustDo(t, c, root, logical.ReadOperation, "sys/quotas/lease-count/db", nil)
	if q.Data["counter"] != 2 || q.Data["max_leases"] != 2 {
		t.Fatalf("quota = %v", q.Data)
	}
}

func TestRevokingATokenRevokesItsLeases(t *testing.T) {
	c, root, db := dbCore(t, "1h")
	mustDo(t, c, root, logical.UpdateOperation, "sys/policies/acl/creds", map[string]any{"policy": `path "database/creds/*" { capabilities = ["read"] }`})
	child := childToken(t, c, root, "creds")
	user, _, _ := creds(t, c, child)
	mustDo(t, c, root, logical.UpdateOperation, "auth/token/revoke", map[string]any{"token": child})
	eventually(t, "the revoked token's lease is revoked", 20*time.Second, func() bool { return !userExists(t, db, user) })
}

// TestStaticRotationIsAudited: a static role's rotation, which the engine
// makes on its own (at creation, then on schedule), has audit entries.
func TestStaticRotationIsAudited(t *testing.T) {
	c, root, db := dbCore(t, "1h")
	file := filepath.Join(t.TempDir(), "audit.log")
	enableFileAudit(t, c, root, "file", file, nil)
	const user = "sv_static_audit"
	if _, err := db.Exec("CREATE USER IF NOT EXISTS '" + user + "'@'%' IDENTIFIED BY 'initial-pw'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	mustDo(t, c, root, logical.UpdateOperation, "database/static-roles/st", map[string]any{
		"db_name": "my", "username": user, "rotation_period": "1h",
	})
	pw := mustDo(t, c, root, logical.ReadOperation, "database/static-creds/st", nil).Data["password"].(string)
	if !canLogIn(t, user, pw) || canLogIn(t, user, "initial-pw") {
		t.Fatalf("the static role was not rotated at creation: new logs in %v, old logs in %v", canLogIn(t, user, pw), canLogIn(t, user, "initial-pw"))
	}
	var rotations int
	for _, l := range logLines(t, file) {
		r, _ := l["request"].(map[string]any)
		if r != nil && r["operation"] == "rotate" && r["path"] == "database/rotate-role/st" {
			rotations++
		}
	}
	if rotations != 2 {
		t.Fatalf("%d audit entries for the rotation, want a request and a response", rotations)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), pw) {
		t.Fatal("the rotated password is in the audit log")
	}
}
