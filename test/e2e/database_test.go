package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	vault "github.com/openbao/openbao/api/v2"
)

// The database tests issue real users on the machine's MariaDB (or
// MySQL) at 127.0.0.1:3306, where root has an empty password, as the
// database engine's and the core's tests do. They fail, never skip,
// when it cannot be reached. Root only configures the engine and checks
// which users exist.
const mariadbAddr = "127.0.0.1:3306"

// mariadb is the test's side of MariaDB.
type mariadb struct {
	t    *testing.T
	root *sql.DB
}

// openMariaDB connects as root and fails the test without a server.
func openMariaDB(t *testing.T) *mariadb {
	t.Helper()
	_ = mysql.SetLogger(quietMySQL{}) // refused logins are expected
	m := &mariadb{t: t}
	m.root = m.open("root", "")
	t.Cleanup(func() { _ = m.root.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.root.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB at %s as root (empty password) is needed: %v", mariadbAddr, err)
	}
	return m
}

func (m *mariadb) open(user, password string) *sql.DB {
	m.t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = user, password, "tcp", mariadbAddr, 5*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		m.t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db
}

// exists reports whether MariaDB has an account named user.
func (m *mariadb) exists(user string) bool {
	m.t.Helper()
	var n int
	if err := m.root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", user).Scan(&n); err != nil {
		m.t.Fatalf("count users: %v", err)
	}
	return n > 0
}

// login logs in as user and asks the server who it is: nil only when
// the session is user's.
func (m *mariadb) login(user, password string) error {
	db := m.open(user, password)
	defer func() { _ = db.Close() }()
	var who string
	if err := db.QueryRow("SELECT CURRENT_USER()").Scan(&who); err != nil {
		return err
	}
	if !strings.HasPrefix(who, user+"@") {
		return fmt.Errorf("logged in as %s, want %s", who, user)
	}
	return nil
}

// dropAtCleanup drops user when the test ends (a failed test may leave it).
func (m *mariadb) dropAtCleanup(user string) {
	m.t.Cleanup(func() { _, _ = m.root.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
}

type quietMySQL struct{}

func (quietMySQL) Print(...any) {}

// creds is one database/creds read.
type creds struct {
	lease, user, password string
	duration              int
	renewable             bool
}

// configureDatabase mounts the database engine, points connection "my"
// at MariaDB as root and writes role "app" (default ttl, max maxTTL).
func configureDatabase(t *testing.T, c *vault.Client, ttl, maxTTL string) {
	t.Helper()
	if err := c.Sys().Mount("database", &vault.MountInput{Type: "database"}); err != nil {
		t.Fatalf("mount database: %v", err)
	}
	if _, err := c.Logical().Write("database/config/my", map[string]any{
		"plugin_name": "mysql-database-plugin", "connection_url": "{{username}}:{{password}}@tcp(" + mariadbAddr + ")/",
		"username": "root", "password": "", "allowed_roles": "app",
	}); err != nil {
		t.Fatalf("write database/config/my: %v", err)
	}
	if _, err := c.Logical().Write("database/roles/app", map[string]any{
		"db_name":             "my",
		"creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
		"default_ttl":         ttl, "max_ttl": maxTTL,
	}); err != nil {
		t.Fatalf("write database/roles/app: %v", err)
	}
}

// readCreds reads database/creds/app; the user is dropped at cleanup.
// A failure never shows the response (it holds a password).
func readCreds(t *testing.T, c *vault.Client, m *mariadb) creds {
	t.Helper()
	sec, err := c.Logical().Read("database/creds/app")
	if err != nil || sec == nil {
		t.Fatalf("read database/creds/app: %v", err)
	}
	user, _ := sec.Data["username"].(string)
	pw, _ := sec.Data["password"].(string)
	if user == "" || pw == "" {
		t.Fatalf("database/creds/app answered no username or password (keys %v)", mapKeys(sec.Data))
	}
	m.dropAtCleanup(user)
	return creds{lease: sec.LeaseID, user: user, password: pw, duration: sec.LeaseDuration, renewable: sec.Renewable}
}

func mapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDatabaseCredsLifecycle drives a real vaultd with the OpenBao
// client through the database engine's whole lease life: configure,
// role, creds (a MariaDB user that logs in), renew (capped by the role's
// max_ttl), lookup, revoke (the user is dropped before the answer and
// can no longer log in); then the same through vaultctl's lease commands.
func TestDatabaseCredsLifecycle(t *testing.T) {
	ctx := context.Background()
	m := openMariaDB(t)
	s := newServer(t)
	init := s.initUnseal(1, 1)
	c := s.client(init.RootToken)
	configureDatabase(t, c, "1h", "2h")

	cr := readCreds(t, c, m)
	if !strings.HasPrefix(cr.lease, "database/creds/app/") || !cr.renewable || cr.duration < 3590 || cr.duration > 3600 {
		t.Fatalf("creds lease: id %q, lease_duration %d, renewable %v; want database/creds/app/..., ~3600, true", cr.lease, cr.duration, cr.renewable)
	}
	if err := m.login(cr.user, cr.password); err != nil {
		t.Fatalf("the issued credentials do not log in: %v", err)
	}
	checkRenew(ctx, t, c, cr.lease)
	checkLookup(t, c, cr)

	if err := c.Sys().RevokeWithContext(ctx, cr.lease); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if m.exists(cr.user) {
		t.Fatalf("user %s still exists after its lease was revoked", cr.user)
	}
	if err := m.login(cr.user, cr.password); err == nil {
		t.Fatal("the revoked credentials still log in")
	}
	if _, err := c.Sys().Lookup(cr.lease); responseStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "invalid lease") {
		t.Fatalf("lookup of a revoked lease: %v, want Vault's 400 invalid lease", err)
	}
	if _, err := c.Sys().RenewWithContext(ctx, cr.lease, 60); err == nil {
		t.Fatal("a revoked lease was renewed")
	}
	if m.exists(cr.user) {
		t.Fatal("renewing a revoked lease created its user again")
	}
	checkVaultctlLease(t, s, init.RootToken, readCreds(t, c, m), m)
}

// checkRenew renews for 30m (shorter than the lease), then asks 3h of a
// role whose max_ttl is 2h.
func checkRenew(ctx context.Context, t *testing.T, c *vault.Client, lease string) {
	t.Helper()
	for _, tc := range []struct {
		name     string
		inc      int
		min, max int
	}{
		{"30m", 1800, 1790, 1800},
		{"3h capped at max_ttl 2h", 3 * 3600, 7200 - 60, 7200},
	} {
		ren, err := c.Sys().RenewWithContext(ctx, lease, tc.inc)
		if err != nil {
			t.Fatalf("renew %s: %v", tc.name, err)
		}
		if ren.LeaseID != lease || !ren.Renewable || ren.LeaseDuration < tc.min || ren.LeaseDuration > tc.max {
			t.Fatalf("renew %s: lease %q, lease_duration %d, renewable %v; want %q, %d..%d, true",
				tc.name, ren.LeaseID, ren.LeaseDuration, ren.Renewable, lease, tc.min, tc.max)
		}
	}
}

// checkLookup looks the renewed lease up: its id, the 2h TTL, a last
// renewal, and nothing of the secret.
func checkLookup(t *testing.T, c *vault.Client, cr creds) {
	t.Helper()
	look, err := c.Sys().Lookup(cr.lease)
	if err != nil || look == nil {
		t.Fatalf("lookup: %v", err)
	}
	d := look.Data
	ttl, err := jsonInt(d["ttl"])
	if err != nil || d["id"] != cr.lease || d["renewable"] != true || d["last_renewal"] == nil || ttl < 7000 || ttl > 7200 {
		t.Fatalf("lookup = %v, want id %s, renewable, a last_renewal and ttl ~7200", d, cr.lease)
	}
	issueTime, _ := d["issue_time"].(string)
	expireTime, _ := d["expire_time"].(string)
	issued, err1 := time.Parse(time.RFC3339Nano, issueTime)
	expires, err2 := time.Parse(time.RFC3339Nano, expireTime)
	if err1 != nil || err2 != nil || expires.Sub(issued) > 2*time.Hour || expires.Sub(issued) < 2*time.Hour-time.Minute {
		t.Fatalf("lookup issue_time %v, expire_time %v: want 2h apart (max_ttl)", d["issue_time"], d["expire_time"])
	}
	body, _ := json.Marshal(d)
	if strings.Contains(string(body), cr.password) || strings.Contains(string(body), "internal") {
		t.Fatal("lookup shows the lease's secret or internal data")
	}
}

// jsonInt reads a number the OpenBao client decoded as json.Number.
func jsonInt(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v (%T) is not a JSON number", v, v)
	}
	return n.Int64()
}

// checkVaultctlLease drives lease lookup, renew and revoke with the
// vaultctl binary on the same server.
func checkVaultctlLease(t *testing.T, s *server, root string, cr creds, m *mariadb) {
	t.Helper()
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := s.vaultctl(root, "", args...)
		if code != want {
			t.Fatalf("vaultctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}
	var l struct {
		ID        string `json:"id"`
		TTL       int    `json:"ttl"`
		Renewable bool   `json:"renewable"`
	}
	if out := run(0, "lease", "lookup", "-format=json", cr.lease); json.Unmarshal([]byte(out), &l) != nil ||
		l.ID != cr.lease || !l.Renewable || l.TTL < 3500 || l.TTL > 3600 {
		t.Fatalf("vaultctl lease lookup: %q", out)
	}
	var r struct {
		LeaseID       string `json:"lease_id"`
		LeaseDuration int    `json:"lease_duration"`
	}
	if out := run(0, "lease", "renew", "-format=json", "-increment=30m", cr.lease); json.Unmarshal([]byte(out), &r) != nil ||
		r.LeaseID != cr.lease || r.LeaseDuration < 1790 || r.LeaseDuration > 1800 {
		t.Fatalf("vaultctl lease renew -increment=30m: %q", out)
	}
	run(0, "lease", "revoke", cr.lease)
	// SecretumVault revokes before it answers, -sync or not.
	if m.exists(cr.user) {
		t.Fatalf("user %s still exists after vaultctl lease revoke", cr.user)
	}
	if err := m.login(cr.user, cr.password); err == nil {
		t.Fatal("credentials revoked by vaultctl still log in")
	}
	run(1, "lease", "lookup", cr.lease)
}
