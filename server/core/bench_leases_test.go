package core_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/secretumvault/secretumvault/engines/logical"
	"github.com/secretumvault/secretumvault/server/core"
	"github.com/secretumvault/secretumvault/storage/inmem"
)

// The lease benchmarks lease database credentials from the machine's
// MariaDB (127.0.0.1:3306, root with an empty password, as the lease
// tests); they fail without it. No engine answers a leased secret
// without a database round trip, so the load benchmark's leases come
// from a role whose creation and revocation statements are "DO 1": real
// leases through the real pipeline and engine, no MariaDB user behind.
//
//	go test -run '^$' -bench DatabaseCredsIssueRevoke -benchtime 300x ./server/core/
//	SECRETUM_BENCH_LEASES=10000 go test -run '^$' -bench LeaseLoad -benchtime 1x ./server/core/

// benchLeasesEnv sets how many leases BenchmarkLeaseLoadOnFailover
// stores (default defaultBenchLeases).
const (
	benchLeasesEnv     = "SECRETUM_BENCH_LEASES"
	defaultBenchLeases = 100000
	// issueWorkers is how many creds reads run at once while storing.
	issueWorkers = 8
	// loadBound bounds every wait of the load benchmark.
	loadBound = 5 * time.Minute
)

// benchDBCore is dbCore for benchmarks: a core configured by cfg with a
// database mount on MariaDB as root and a role of TTL 1h whose
// statements are creation and revocation ("" for the plugin's default).
// The core is sealed at cleanup.
func benchDBCore(b *testing.B, cfg core.Config, role, creation, revocation string) (*core.Core, *core.InitResult, *sql.DB) {
	b.Helper()
	db, err := sql.Open("mysql", "root:@tcp(127.0.0.1:3306)/")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		b.Fatalf("MariaDB at 127.0.0.1:3306 is required: %v", err)
	}
	c, res := newCoreWith(b, cfg)
	root := res.RootToken
	b.Cleanup(func() { _ = c.Seal(context.Background(), root) })
	mustDoB(b, c, root, logical.UpdateOperation, "sys/mounts/database", map[string]any{"type": "database"})
	mustDoB(b, c, root, logical.UpdateOperation, "database/config/my", map[string]any{
		"plugin_name": "mysql-database-plugin", "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
		"username": "root", "password": "", "allowed_roles": "*",
	})
	r := map[string]any{"db_name": "my", "creation_statements": creation, "default_ttl": "1h", "max_ttl": "2h"}
	if revocation != "" {
		r["revocation_statements"] = revocation
	}
	mustDoB(b, c, root, logical.UpdateOperation, "database/roles/"+role, r)
	return c, res, db
}

// usersLike counts (or with drop, drops) MariaDB users named prefix*.
func usersLike(b *testing.B, db *sql.DB, prefix string, drop bool) int {
	b.Helper()
	rows, err := db.Query("SELECT User, Host FROM mysql.user WHERE LEFT(User, ?) = ?", len(prefix), prefix)
	if err != nil {
		b.Fatal(err)
	}
	var accounts []string
	for rows.Next() {
		var u, h string
		if err := rows.Scan(&u, &h); err != nil {
			b.Fatal(err)
		}
		accounts = append(accounts, "'"+u+"'@'"+h+"'")
	}
	rows.Close()
	for _, a := range accounts {
		if drop {
			_, _ = db.Exec("DROP USER IF EXISTS " + a)
		}
	}
	return len(accounts)
}

// BenchmarkDatabaseCredsIssueRevoke measures one lease's whole life on
// MariaDB per op: database/creds (CREATE USER, the lease stored) then
// sys/leases/revoke (DROP USER, the lease deleted), sequentially. It
// reports ops/s and each half's mean latency.
func BenchmarkDatabaseCredsIssueRevoke(b *testing.B) {
	const role, prefix = "benchrev", "v-token-benchrev-"
	c, res, db := benchDBCore(b, core.Config{Physical: inmem.New()}, role,
		"CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';", "")
	root := res.RootToken
	b.Cleanup(func() { usersLike(b, db, prefix, true) })
	var issue, revoke time.Duration
	ops := 0
	for b.Loop() {
		t0 := time.Now()
		resp := mustDoB(b, c, root, logical.ReadOperation, "database/creds/"+role, nil)
		t1 := time.Now()
		mustDoB(b, c, root, logical.UpdateOperation, "sys/leases/revoke", map[string]any{"lease_id": resp.Secret.LeaseID})
		revoke += time.Since(t1)
		issue += t1.Sub(t0)
		ops++
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(issue.Microseconds())/1000/float64(ops), "issue-ms/op")
	b.ReportMetric(float64(revoke.Microseconds())/1000/float64(ops), "revoke-ms/op")
	if n := usersLike(b, db, prefix, false); n != 0 {
		b.Fatalf("%d users left after every lease was revoked", n)
	}
}

// loadWatch is a slog handler that discards everything but the
// expiration manager's "leases loaded" record, which it passes on with
// the time it arrived.
type loadWatch struct{ loaded chan loadRecord }

// loadRecord is one "expiration: leases loaded" log record.
type loadRecord struct {
	at       time.Time
	leases   int64
	loadedIn time.Duration
}

func (w *loadWatch) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (w *loadWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "expiration: leases loaded" {
		return nil
	}
	rec := loadRecord{at: time.Now(), leases: -1}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "leases":
			rec.leases = a.Value.Int64()
		case "loaded_in":
			rec.loadedIn = a.Value.Duration()
		}
		return true
	})
	w.loaded <- rec
	return nil
}

func (w *loadWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *loadWatch) WithGroup(string) slog.Handler      { return w }

// next waits for the next load record.
func (w *loadWatch) next(b *testing.B) loadRecord {
	b.Helper()
	select {
	case rec := <-w.loaded:
		return rec
	case <-time.After(loadBound):
		b.Fatalf("the expiration manager logged no load within %v", loadBound)
		return loadRecord{}
	}
}

// benchLeaseCount reads SECRETUM_BENCH_LEASES.
func benchLeaseCount(b *testing.B) int {
	b.Helper()
	s := os.Getenv(benchLeasesEnv)
	if s == "" {
		return defaultBenchLeases
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number of leases", benchLeasesEnv, s)
	}
	return n
}

// issueLeases reads database/creds/ROLE n times with issueWorkers
// workers and returns the id of one lease issued last.
func issueLeases(b *testing.B, c *core.Core, root, role string, n int) string {
	b.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	var last string
	var firstErr error
	var wg sync.WaitGroup
	for range issueWorkers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				resp, err := do(b, c, root, logical.ReadOperation, "database/creds/"+role, nil)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					last = resp.Secret.LeaseID
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("issue %d leases: %v", n, firstErr)
	}
	return last
}

// loadTimes are one reseal's measurements, from the return of the
// unseal that completed the threshold.
type loadTimes struct {
	unseal, kvRead, creds, lookup, loaded, managerLoad time.Duration
}

// BenchmarkLeaseLoadOnFailover stores N leases (SECRETUM_BENCH_LEASES,
// default 100,000) issued through the real pipeline on a core over inmem
// storage, then per op seals and unseals the core, as a node that
// becomes active, and measures from the unseal until: a KV read answers,
// a new lease is issued, sys/leases/lookup answers for the last lease
// (read from storage, so it need not wait for the load), and the
// expiration manager has loaded every lease (its "leases loaded" log
// record, whose count must be N). Means in ms over the ops.
func BenchmarkLeaseLoadOnFailover(b *testing.B) {
	const role = "benchload"
	n := benchLeaseCount(b)
	watch := &loadWatch{loaded: make(chan loadRecord, 16)}
	c, res, _ := benchDBCore(b, core.Config{Physical: inmem.New(), Logger: slog.New(watch)}, role, "DO 1", "DO 1")
	root := res.RootToken
	if rec := watch.next(b); rec.leases != 0 {
		b.Fatalf("the first active period loaded %d leases, want 0", rec.leases)
	}
	mustDoB(b, c, root, logical.UpdateOperation, "sys/mounts/secret", map[string]any{"type": "kv-v2"})
	mustDoB(b, c, root, logical.UpdateOperation, "secret/data/probe", map[string]any{"data": map[string]any{"v": "1"}})
	start := time.Now()
	last := issueLeases(b, c, root, role, n)
	issued := time.Since(start)
	b.Logf("%d leases issued in %v (%.0f leases/s, %d workers)", n, issued.Round(time.Millisecond), float64(n)/issued.Seconds(), issueWorkers)
	var sum loadTimes
	ops := 0
	for b.Loop() {
		// Each op's creds read adds a lease.
		lt := resealTimed(b, c, res, watch, role, last, n+ops)
		sum.unseal += lt.unseal
		sum.kvRead += lt.kvRead
		sum.creds += lt.creds
		sum.lookup += lt.lookup
		sum.loaded += lt.loaded
		sum.managerLoad += lt.managerLoad
		ops++
		b.Logf("leases=%d unseal=%v first_kv_read=%v first_creds=%v lookup_last=%v loaded=%v (manager's loaded_in %v)",
			n, lt.unseal, lt.kvRead, lt.creds, lt.lookup, lt.loaded, lt.managerLoad)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(ops) }
	b.ReportMetric(float64(n)/issued.Seconds(), "issued-leases/s")
	b.ReportMetric(ms(sum.unseal), "unseal-ms")
	b.ReportMetric(ms(sum.kvRead), "kv-read-ms")
	b.ReportMetric(ms(sum.creds), "creds-ms")
	b.ReportMetric(ms(sum.lookup), "lookup-ms")
	b.ReportMetric(ms(sum.loaded), "loaded-ms")
}

// resealTimed seals c, unseals it and times the first answers; stored
// is how many leases storage holds.
func resealTimed(b *testing.B, c *core.Core, res *core.InitResult, watch *loadWatch, role, last string, stored int) loadTimes {
	b.Helper()
	ctx := context.Background()
	root := res.RootToken
	if err := c.Seal(ctx, root); err != nil {
		b.Fatal(err)
	}
	var lt loadTimes
	keys := res.Keys[:3]
	for i, k := range keys {
		t0 := time.Now()
		if _, err := c.Unseal(ctx, mustHex(b, k)); err != nil {
			b.Fatal(err)
		}
		if i == len(keys)-1 {
			lt.unseal = time.Since(t0)
		}
	}
	unsealed := time.Now()
	lt.kvRead = pollOK(b, "a KV read", func() error {
		_, err := do(b, c, root, logical.ReadOperation, "secret/data/probe", nil)
		return err
	}).Sub(unsealed)
	t0 := time.Now()
	if _, err := do(b, c, root, logical.ReadOperation, "database/creds/"+role, nil); err != nil {
		b.Fatalf("creds during the load: %v", err)
	}
	lt.creds = time.Since(t0)
	lt.lookup = pollOK(b, "a lookup of the last lease", func() error {
		_, err := do(b, c, root, logical.UpdateOperation, "sys/leases/lookup", map[string]any{"lease_id": last})
		return err
	}).Sub(unsealed)
	rec := watch.next(b)
	// The creds read during the load may or may not have been listed.
	if rec.leases < int64(stored) || rec.leases > int64(stored)+1 {
		b.Fatalf("the manager loaded %d leases, want %d (or one more)", rec.leases, stored)
	}
	lt.loaded, lt.managerLoad = rec.at.Sub(unsealed), rec.loadedIn
	return lt
}

// pollOK calls fn until it returns nil (every millisecond, at most
// loadBound) and returns when it did.
func pollOK(b *testing.B, what string, fn func() error) time.Time {
	b.Helper()
	deadline := time.Now().Add(loadBound)
	for {
		err := fn()
		if err == nil {
			return time.Now()
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not answer within %v: %v", what, loadBound, err)
		}
		time.Sleep(time.Millisecond)
	}
}
