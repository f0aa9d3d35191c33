package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/client"
)

// The lease end-to-end test issues real leases: database credentials
// from the database engine of a real server (startRealVault) on a
// MySQL/MariaDB server where root has an empty password
// (SECRETUM_TEST_MYSQL_ADDR, default 127.0.0.1:3306), as the database
// engine's own tests use. It fails, never skips, when that server cannot
// be reached. Root only creates the test's admin user and checks which
// users exist.

// leaseDB is the MySQL side of the test.
type leaseDB struct {
	t    *testing.T
	addr string
	root *sql.DB
}

func openLeaseDB(t *testing.T) *leaseDB {
	t.Helper()
	_ = mysql.SetLogger(mysql.Logger(quietMySQL{}))
	addr := os.Getenv("SECRETUM_TEST_MYSQL_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3306"
	}
	d := &leaseDB{t: t, addr: addr}
	d.root = d.open("root", "")
	t.Cleanup(func() { _ = d.root.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.root.PingContext(ctx); err != nil {
		t.Fatalf("MySQL/MariaDB at %s as root (empty password) is needed: %v", addr, err)
	}
	return d
}

func (d *leaseDB) open(user, password string) *sql.DB {
	d.t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = user, password, "tcp", d.addr, 10*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db
}

func (d *leaseDB) exec(q string) {
	d.t.Helper()
	if _, err := d.root.Exec(q); err != nil {
		d.t.Fatalf("%s: %v", strings.Fields(q)[0], err)
	}
}

// users counts the accounts whose name starts with prefix.
func (d *leaseDB) users(prefix string) int {
	d.t.Helper()
	var n int
	if err := d.root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE LEFT(User, ?) = ?", len(prefix), prefix).Scan(&n); err != nil {
		d.t.Fatal(err)
	}
	return n
}

// dropUsers drops the accounts whose name starts with prefix.
func (d *leaseDB) dropUsers(prefix string) {
	rows, err := d.root.Query("SELECT User, Host FROM mysql.user WHERE LEFT(User, ?) = ?", len(prefix), prefix)
	if err != nil {
		return
	}
	var accounts []string
	for rows.Next() {
		var u, h string
		if rows.Scan(&u, &h) == nil {
			accounts = append(accounts, "'"+u+"'@'"+h+"'")
		}
	}
	_ = rows.Close()
	for _, a := range accounts {
		_, _ = d.root.Exec("DROP USER IF EXISTS " + a)
	}
}

// login reports whether user can log in with password.
func (d *leaseDB) login(user, password string) error {
	db := d.open(user, password)
	defer func() { _ = db.Close() }()
	return db.Ping()
}

type quietMySQL struct{}

func (quietMySQL) Print(...any) {}

func randomHexName(t *testing.T, prefix string, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// leaseEnv is a real server with a database mount whose role ROLE
// issues MySQL users under leases (default TTL 1h, max 2h).
type leaseEnv struct {
	*realVault
	db       *leaseDB
	role     string
	users    string // prefix of the generated usernames
	creation string
}

func startLeaseEnv(t *testing.T) *leaseEnv {
	t.Helper()
	db := openLeaseDB(t)
	e := &leaseEnv{realVault: startRealVault(t), db: db, role: randomHexName(t, "l", 3)}
	e.users = "v-token-" + e.role
	admin, pw := randomHexName(t, "svadm_", 5), randomHexName(t, "Adm-", 8)
	// The names are hex: safe between quotes (CREATE USER takes no placeholders).
	db.exec("CREATE USER '" + admin + "'@'%' IDENTIFIED BY '" + pw + "'")
	db.exec("GRANT ALL PRIVILEGES ON *.* TO '" + admin + "'@'%' WITH GRANT OPTION")
	t.Cleanup(func() { db.dropUsers(e.users); db.dropUsers(admin) })
	e.run(0, "", "secrets", "enable", "database")
	e.run(0, "", "write", "database/config/db", "plugin_name=mysql-database-plugin",
		"connection_url={{username}}:{{password}}@tcp("+db.addr+")/", "username="+admin, "password="+pw, "allowed_roles="+e.role)
	e.creation = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"
	e.writeRole("")
	return e
}

// writeRole writes the role, with revocation statements when not "".
func (e *leaseEnv) writeRole(revocation string) {
	e.t.Helper()
	args := []string{"write", "database/roles/" + e.role, "db_name=db", "creation_statements=" + e.creation,
		"default_ttl=1h", "max_ttl=2h"}
	if revocation != "" {
		args = append(args, "revocation_statements="+revocation)
	}
	e.run(0, "", args...)
}

// creds is a database/creds read: its lease and the user it created.
type creds struct {
	LeaseID       string `json:"lease_id"`
	LeaseDuration int    `json:"lease_duration"`
	Renewable     bool   `json:"renewable"`
	Data          struct {
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"data"`
}

// newCreds reads credentials; unlike run, a failure shows only stderr
// (stdout holds a password).
func (e *leaseEnv) newCreds() creds {
	e.t.Helper()
	env := map[string]string{"VAULT_ADDR": e.url, "VAULT_TOKEN": e.root}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"read", "-format=json", "database/creds/" + e.role}, strings.NewReader(""),
		&stdout, &stderr, func(k string) string { return env[k] })
	var c creds
	if code != 0 || json.Unmarshal(stdout.Bytes(), &c) != nil || c.LeaseID == "" || c.Data.Username == "" {
		e.t.Fatalf("read database/creds/%s: exit %d, stderr %s", e.role, code, stderr.String())
	}
	return c
}

// lookup runs "lease lookup -format=json".
func (e *leaseEnv) lookup(id string) client.Lease {
	e.t.Helper()
	var l client.Lease
	if out := e.run(0, "", "lease", "lookup", "-format=json", id); json.Unmarshal([]byte(out), &l) != nil {
		e.t.Fatalf("lease lookup -format=json: %q", out)
	}
	return l
}

// TestRunLeaseEndToEnd issues database credentials on a real server and
// drives their leases with every lease command: lookup, list, renew
// (capped by the role's max TTL), revoke (the MySQL user is dropped),
// revoke -prefix, a revocation that fails and revoke -prefix -force,
// and tidy; then the SDK's lease-count quota calls.
func TestRunLeaseEndToEnd(t *testing.T) {
	t.Parallel()
	e := startLeaseEnv(t)
	c := e.newCreds()
	if !strings.HasPrefix(c.LeaseID, "database/creds/"+e.role+"/") || !c.Renewable || c.LeaseDuration < 3590 || c.LeaseDuration > 3600 {
		t.Fatalf("creds lease: %q, %ds, renewable %v", c.LeaseID, c.LeaseDuration, c.Renewable)
	}
	if err := e.db.login(c.Data.Username, c.Data.Password); err != nil {
		t.Fatalf("the issued credentials do not log in: %v", err)
	}
	// The steps share one server and run in order.
	e.checkLookupList(c)
	e.checkRenew(c)
	e.checkRevoke(c)
	e.checkRevokePrefix()
	e.checkRevokeForce()
	if got := e.run(0, "", "lease", "tidy"); got != "Success! Tidied the lease store: 0 entries removed.\n" {
		t.Errorf("lease tidy: %q", got)
	}
	e.checkQuotas()
}

func (e *leaseEnv) checkLookupList(c creds) {
	t := e.t
	l := e.lookup(c.LeaseID)
	if l.ID != c.LeaseID || !l.Renewable || l.TTL <= 3500 || l.TTL > 3600 || l.LastRenewal != nil || l.Irrevocable ||
		l.ExpireTime == nil || l.ExpireTime.Sub(l.IssueTime) != time.Hour {
		t.Errorf("lease lookup: %+v", l)
	}
	table := e.run(0, "", "lease", "lookup", c.LeaseID)
	if !strings.Contains(table, "id              "+c.LeaseID+"\n") || !strings.Contains(table, "last_renewal    n/a\n") ||
		!strings.Contains(table, "renewable       true\n") {
		t.Errorf("lease lookup table:\n%s", table)
	}
	suffix := strings.TrimPrefix(c.LeaseID, "database/creds/"+e.role+"/")
	if got := e.run(0, "", "lease", "list", "database/creds/"+e.role); got != "Keys\n----\n"+suffix+"\n" {
		t.Errorf("lease list database/creds/%s: %q, want the key %s", e.role, got, suffix)
	}
	if got := e.run(0, "", "lease", "list", "-format=json"); got != "[\n  \"database/\"\n]\n" {
		t.Errorf("lease list of the top level: %q", got)
	}
	e.run(2, "", "lease", "list", "kv")
	e.run(1, "", "lease", "lookup", "database/creds/"+e.role+"/nope")
}

func (e *leaseEnv) checkRenew(c creds) {
	t := e.t
	var r client.LeaseRenewal
	if out := e.run(0, "", "lease", "renew", "-format=json", "-increment=30m", c.LeaseID); json.Unmarshal([]byte(out), &r) != nil ||
		r.LeaseID != c.LeaseID || !r.Renewable || r.LeaseDuration < 1790 || r.LeaseDuration > 1800 {
		t.Errorf("lease renew -increment=30m: %q, want the renewed lease's own id and 30m", out)
	}
	// 3h asked, the role's max_ttl (2h from issue) granted.
	out := e.run(0, "", "lease", "renew", "-increment=3h", c.LeaseID)
	if !strings.Contains(out, "lease_id           "+c.LeaseID+"\n") || !strings.Contains(out, "lease_renewable    true\n") {
		t.Errorf("lease renew table:\n%s\nwant the renewed lease's own id", out)
	}
	l := e.lookup(c.LeaseID)
	if l.LastRenewal == nil || l.TTL <= 7000 || l.TTL > 7200 || l.ExpireTime.Sub(l.IssueTime) > 2*time.Hour {
		t.Errorf("after renew -increment=3h: %+v, want last_renewal set and the 2h max_ttl", l)
	}
	e.run(2, "", "lease", "renew", "-increment=-1h", c.LeaseID)
}

func (e *leaseEnv) checkRevoke(c creds) {
	t := e.t
	if got := e.run(0, "", "lease", "revoke", "-sync", c.LeaseID); got != "Success! Revoked lease: "+c.LeaseID+"\n" {
		t.Errorf("lease revoke -sync: %q", got)
	}
	if n := e.db.users(c.Data.Username); n != 0 {
		t.Errorf("the revoked lease's user %s still exists", c.Data.Username)
	}
	if err := e.db.login(c.Data.Username, c.Data.Password); err == nil {
		t.Error("the revoked credentials still log in")
	}
	e.run(1, "", "lease", "lookup", c.LeaseID)
	e.run(0, "", "lease", "revoke", "-sync", c.LeaseID) // an unknown lease is not an error (as Vault)
}

func (e *leaseEnv) checkRevokePrefix() {
	t := e.t
	a, b := e.newCreds(), e.newCreds()
	if n := e.db.users(e.users); n != 2 {
		t.Fatalf("%d users of the role, want 2", n)
	}
	if got := e.run(0, "", "lease", "revoke", "-prefix", "database/creds/"+e.role); got != "All revocation operations queued successfully!\n" {
		t.Errorf("lease revoke -prefix: %q", got)
	}
	if n := e.db.users(e.users); n != 0 {
		t.Errorf("%d users of the role remain after revoke -prefix", n)
	}
	e.run(1, "", "lease", "lookup", a.LeaseID)
	e.run(1, "", "lease", "lookup", b.LeaseID)
	e.run(2, "", "lease", "list", "database/creds/"+e.role)
}

// checkRevokeForce makes the role's revocation fail: revoke then fails
// and keeps the lease; revoke -prefix -force removes it anyway.
func (e *leaseEnv) checkRevokeForce() {
	t := e.t
	c := e.newCreds()
	e.writeRole("SELECT * FROM svlease_missing.t;")
	e.run(1, "", "lease", "revoke", "-sync", c.LeaseID)
	if l := e.lookup(c.LeaseID); l.ID != c.LeaseID {
		t.Errorf("the lease whose revocation failed is gone: %+v", l)
	}
	e.run(1, "", "lease", "revoke", "-prefix", "-sync", "database/creds/"+e.role)
	e.run(2, "", "lease", "revoke", "-force", c.LeaseID)
	if got := e.run(0, "", "lease", "revoke", "-prefix", "-force", "database/creds/"+e.role); got != "Success! Force revoked any leases with prefix: database/creds/"+e.role+"\n" {
		t.Errorf("lease revoke -prefix -force: %q", got)
	}
	e.run(1, "", "lease", "lookup", c.LeaseID)
	if n := e.db.users(c.Data.Username); n != 1 {
		t.Errorf("force revoke dropped the user (%d left) although revocation fails", n)
	}
	// A role write keeps the fields it does not name: delete the role to
	// get the plugin's revocation back.
	e.run(0, "", "delete", "database/roles/"+e.role)
	e.writeRole("")
}

// checkQuotas drives the SDK's lease-count quota calls against the
// server: a quota of 1 on the role's creds refuses a second lease.
func (e *leaseEnv) checkQuotas() {
	t := e.t
	ctx := context.Background()
	cl, err := client.New(client.WithEnv(func(string) string { return "" }), client.WithAddress(e.url), client.WithToken(e.root))
	if err != nil {
		t.Fatal(err)
	}
	sys := cl.Sys()
	if names, err := sys.ListLeaseQuotas(ctx); err != nil || len(names) != 0 {
		t.Fatalf("ListLeaseQuotas before any: %v, %v", names, err)
	}
	path := "database/creds/" + e.role
	if err := sys.SetLeaseQuota(ctx, "one", &client.LeaseQuotaInput{Path: path, MaxLeases: 1}); err != nil {
		t.Fatal(err)
	}
	c := e.newCreds()
	q, err := sys.GetLeaseQuota(ctx, "one")
	if err != nil || q.Name != "one" || q.Type != "lease-count" || q.MaxLeases != 1 || q.Counter != 1 || strings.Trim(q.Path, "/") != path {
		t.Fatalf("GetLeaseQuota: %+v, %v", q, err)
	}
	_, err = cl.Read(ctx, path, nil)
	var re *client.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 429 {
		t.Errorf("a lease over the quota: %v, want 429", err)
	}
	if names, err := sys.ListLeaseQuotas(ctx); err != nil || len(names) != 1 || names[0] != "one" {
		t.Errorf("ListLeaseQuotas: %v, %v", names, err)
	}
	if err := sys.RevokeLease(ctx, c.LeaseID); err != nil {
		t.Fatal(err)
	}
	if q, err := sys.GetLeaseQuota(ctx, "one"); err != nil || q.Counter != 0 {
		t.Errorf("GetLeaseQuota after the revocation: %+v, %v", q, err)
	}
	if err := sys.DeleteLeaseQuota(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.GetLeaseQuota(ctx, "one"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetLeaseQuota after delete: %v, want not found", err)
	}
}
