package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	vault "github.com/openbao/openbao/api/v2"
)

// The database failover test issues real users on the machine's MariaDB
// (or MySQL) at 127.0.0.1:3306, where root has an empty password, as the
// database engine's tests do; it fails, never skips, without it.
const mariadbAddr = "127.0.0.1:3306"

// Failover timings of the database test.
const (
	// shortTTL is the default TTL of role "short": its lease expires
	// after the new leader took over.
	shortTTL = 8 * time.Second
	// tinyTTL is the default TTL of role "tiny": its lease expires while
	// no node is active (the takeover takes about 2 s).
	tinyTTL = time.Second
	// revokeSlack is how late after a lease's expiry (or after the new
	// leader became active, if that was later) its user may still exist.
	revokeSlack = 10 * time.Second
)

// mariadb is the test's root connection to MariaDB.
type mariadb struct {
	t    *testing.T
	root *sql.DB
}

func openMariaDB(t *testing.T) *mariadb {
	t.Helper()
	_ = mysql.SetLogger(quietMySQL{}) // refused logins are expected
	root, err := openMySQL("root", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = root.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := root.PingContext(ctx); err != nil {
		t.Fatalf("MariaDB at %s as root (empty password) is needed: %v", mariadbAddr, err)
	}
	return &mariadb{t: t, root: root}
}

func openMySQL(user, password string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.Timeout = user, password, "tcp", mariadbAddr, 5*time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector for %s: %w", user, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// exists reports whether MariaDB has an account named user; safe from
// any goroutine.
func (m *mariadb) exists(user string) (bool, error) {
	var n int
	if err := m.root.QueryRow("SELECT COUNT(*) FROM mysql.user WHERE User = ?", user).Scan(&n); err != nil {
		return false, fmt.Errorf("count users named %s: %w", user, err)
	}
	return n > 0, nil
}

func (m *mariadb) mustExist(user string, want bool) {
	m.t.Helper()
	got, err := m.exists(user)
	if err != nil {
		m.t.Fatal(err)
	}
	if got != want {
		m.t.Fatalf("user %s exists = %v, want %v", user, got, want)
	}
}

// login reports whether user logs in with password and runs a query.
func login(user, password string) error {
	db, err := openMySQL(user, password)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var one int
	return db.QueryRow("SELECT 1").Scan(&one)
}

type quietMySQL struct{}

func (quietMySQL) Print(...any) {}

// dbCreds is one database/creds read.
type dbCreds struct{ lease, user, password string }

// configureDatabase mounts the database engine on MariaDB with roles
// "tiny" (default TTL tinyTTL), "short" (shortTTL) and "long" (1h, max
// 2h).
func configureDatabase(t *testing.T, cl *vault.Client) {
	t.Helper()
	writes := []struct {
		path string
		data map[string]any
	}{
		{"sys/mounts/database", map[string]any{"type": "database"}},
		{"database/config/my", map[string]any{
			"plugin_name": "mysql-database-plugin", "connection_url": "{{username}}:{{password}}@tcp(" + mariadbAddr + ")/",
			"username": "root", "password": "", "allowed_roles": "tiny,short,long",
		}},
		{"database/roles/tiny", role(tinyTTL.String(), "1m")},
		{"database/roles/short", role(shortTTL.String(), "1m")},
		{"database/roles/long", role("1h", "2h")},
	}
	for _, w := range writes {
		if _, err := cl.Logical().Write(w.path, w.data); err != nil {
			t.Fatalf("write %s: %v", w.path, err)
		}
	}
}

func role(ttl, maxTTL string) map[string]any {
	return map[string]any{
		"db_name": "my", "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
		"default_ttl": ttl, "max_ttl": maxTTL,
	}
}

// readCreds reads database/creds/ROLE and checks the user logs in; the
// user is dropped at cleanup. Failures never show the password.
func readCreds(t *testing.T, cl *vault.Client, m *mariadb, roleName string) dbCreds {
	t.Helper()
	sec, err := cl.Logical().Read("database/creds/" + roleName)
	if err != nil || sec == nil {
		t.Fatalf("read database/creds/%s: %v", roleName, err)
	}
	c := dbCreds{lease: sec.LeaseID}
	c.user, _ = sec.Data["username"].(string)
	c.password, _ = sec.Data["password"].(string)
	if c.user == "" || c.password == "" || !strings.HasPrefix(c.lease, "database/creds/"+roleName+"/") {
		t.Fatalf("database/creds/%s: lease %q and a username and password expected", roleName, c.lease)
	}
	t.Cleanup(func() { _, _ = m.root.Exec("DROP USER IF EXISTS '" + c.user + "'@'%'") })
	if err := login(c.user, c.password); err != nil {
		t.Fatalf("the credentials of role %s do not log in: %v", roleName, err)
	}
	return c
}

// leaseExpiry is the lease's expire_time as sys/leases/lookup tells it.
func leaseExpiry(t *testing.T, cl *vault.Client, lease string) time.Time {
	t.Helper()
	look, err := cl.Sys().Lookup(lease)
	if err != nil || look == nil {
		t.Fatalf("lookup %s: %v", lease, err)
	}
	s, _ := look.Data["expire_time"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("lookup %s: expire_time %q: %v", lease, s, err)
	}
	return at
}

// goneAt is when a watched user was first seen gone, or why watching
// failed.
type goneAt struct {
	at  time.Time
	err error
}

// watchGone polls MariaDB every 25 ms until user is gone and sends when
// it was first seen gone (or the query error) on the returned channel;
// closing stop ends it.
func watchGone(m *mariadb, user string, stop <-chan struct{}) <-chan goneAt {
	out := make(chan goneAt, 1)
	go func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			ok, err := m.exists(user)
			if err != nil || !ok {
				out <- goneAt{at: time.Now(), err: err}
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	return out
}

// awaitGone waits for the watcher's answer until deadline; false if none
// came (an answer ready at the deadline counts).
func awaitGone(gone <-chan goneAt, deadline time.Time) (goneAt, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case g := <-gone:
		return g, true
	case <-timer.C:
	}
	select {
	case g := <-gone:
		return g, true
	default:
		return goneAt{}, false
	}
}

// expiring is a lease the new leader must revoke at its expiry.
type expiring struct {
	role   string
	creds  dbCreds
	expiry time.Time // its expiry, or a lower bound of it
	gone   <-chan goneAt
}

// TestDatabaseLeasesSurviveFailover issues MariaDB credentials on a
// 3-node cluster and kills the active node with kill -9: a lease that
// expires during the takeover (tiny) and one that expires after it
// (short) are revoked on time by the new active node (each user dropped
// no earlier than its expiry and at most revokeSlack after it, or after
// the takeover if that came later; the lateness is logged) and
// forgotten; a long lease issued before the failover is listed, renewed
// through a standby and revoked through the new leader.
func TestDatabaseLeasesSurviveFailover(t *testing.T) {
	m := openMariaDB(t)
	c := Start(t, 3, Options{Shares: 1, Threshold: 1, LogLevel: "info"})
	root := c.InitUnseal().RootToken
	leader := c.WaitLeader(30 * time.Second)
	cl := c.Client(leader, root)
	configureDatabase(t, cl)
	long := readCreds(t, cl, m, "long")
	short := readCreds(t, cl, m, "short")
	stop := make(chan struct{})
	defer close(stop)
	leases := []*expiring{{role: "short", creds: short, expiry: leaseExpiry(t, cl, short.lease)}}
	// No lookup between the tiny read and the kill: its expiry is at
	// least a TTL after the read began.
	issued := time.Now()
	tiny := readCreds(t, cl, m, "tiny")
	leases = append(leases, &expiring{role: "tiny", creds: tiny, expiry: issued.Add(tinyTTL)})
	for _, e := range leases {
		e.gone = watchGone(m, e.creds.user, stop)
	}
	if err := c.Kill(leader); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	next := c.WaitLeader(60 * time.Second)
	active := time.Now()
	t.Logf("node%d killed %v after the tiny lease was issued; node%d active %v after the kill",
		leader, killed.Sub(issued).Round(time.Millisecond), next, active.Sub(killed).Round(time.Millisecond))
	nc := c.Client(next, root)
	for _, e := range leases {
		checkRevokedOnTime(t, e, next, active)
		waitLeaseGone(t, nc, e.creds.lease, 10*time.Second)
	}
	checkLongLeaseAfterFailover(t, c, m, next, leader, root, long)
}

// checkRevokedOnTime waits for e's user to be dropped by node next
// (active since active), no earlier than e's expiry and at most
// revokeSlack after the later of its expiry and active.
func checkRevokedOnTime(t *testing.T, e *expiring, next int, active time.Time) {
	t.Helper()
	due := e.expiry
	if active.After(due) {
		due = active
	}
	g, ok := awaitGone(e.gone, due.Add(revokeSlack))
	if !ok {
		t.Fatalf("user %s of the expired %s lease still exists %v after its expiry (node%d active since %v)",
			e.creds.user, e.role, time.Since(e.expiry).Round(time.Millisecond), next, active.Format(time.StampMilli))
	}
	if g.err != nil {
		t.Fatal(g.err)
	}
	if g.at.Before(e.expiry) {
		t.Fatalf("user %s dropped %v before its %s lease expired", e.creds.user, e.expiry.Sub(g.at), e.role)
	}
	t.Logf("%s lease revoked: user dropped %v after its expiry, %v after node%d became active",
		e.role, g.at.Sub(e.expiry).Round(time.Millisecond), g.at.Sub(active).Round(time.Millisecond), next)
	if err := login(e.creds.user, e.creds.password); err == nil {
		t.Fatalf("the expired %s credentials still log in", e.role)
	}
}

// waitLeaseGone polls sys/leases/lookup on cl until the lease is gone
// (Vault's 400 "invalid lease").
func waitLeaseGone(t *testing.T, cl *vault.Client, lease string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := cl.Sys().Lookup(lease)
		if statusOf(err) == http.StatusBadRequest && strings.Contains(err.Error(), "invalid lease") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %s still looked up %v after its revocation: %v", lease, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkLongLeaseAfterFailover: the lease issued by the dead leader is
// listed by the new one, renewed through the surviving standby, and
// revoked through the new leader (its user dropped before the answer).
func checkLongLeaseAfterFailover(t *testing.T, c *Cluster, m *mariadb, next, dead int, root string, long dbCreds) {
	t.Helper()
	ctx := context.Background()
	nc := c.Client(next, root)
	list, err := nc.Logical().List("sys/leases/lookup/database/creds/long")
	suffix := strings.TrimPrefix(long.lease, "database/creds/long/")
	if err != nil || list == nil || fmt.Sprint(list.Data["keys"]) != "["+suffix+"]" {
		t.Fatalf("lease list on the new leader: %v, %v; want [%s]", list, err, suffix)
	}
	standby := c.Others(next, dead)[0]
	ren, err := c.Client(standby, root).Sys().RenewWithContext(ctx, long.lease, 1800)
	if err != nil {
		t.Fatalf("renew through standby node%d: %v", standby, err)
	}
	if ren.LeaseID != long.lease || !ren.Renewable || ren.LeaseDuration < 1790 || ren.LeaseDuration > 1800 {
		t.Fatalf("renew through node%d: lease %q, lease_duration %d, renewable %v; want %q, ~1800, true",
			standby, ren.LeaseID, ren.LeaseDuration, ren.Renewable, long.lease)
	}
	look, err := nc.Sys().Lookup(long.lease)
	if err != nil || look.Data["last_renewal"] == nil {
		t.Fatalf("lookup after the renewal: %v, %v; want a last_renewal", look, err)
	}
	if err := login(long.user, long.password); err != nil {
		t.Fatalf("the renewed credentials do not log in: %v", err)
	}
	if err := nc.Sys().RevokeWithContext(ctx, long.lease); err != nil {
		t.Fatalf("revoke through the new leader: %v", err)
	}
	m.mustExist(long.user, false)
	if err := login(long.user, long.password); err == nil {
		t.Fatal("the revoked credentials still log in")
	}
	if _, err := nc.Sys().Lookup(long.lease); statusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "invalid lease") {
		t.Fatalf("lookup of the revoked lease: %v, want 400 invalid lease", err)
	}
	left, err := nc.Logical().List("sys/leases/lookup/database/creds")
	if (err != nil && statusOf(err) != http.StatusNotFound) || (left != nil && left.Data["keys"] != nil) {
		t.Fatalf("lease list after every revocation: %v, %v; want none", left, err)
	}
}
