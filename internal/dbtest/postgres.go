// Package dbtest runs throwaway database servers for the database secrets
// engine's tests: real server processes in a test's temporary directory,
// stopped when the test ends.
//
// StartPostgres starts a PostgreSQL server that checks passwords
// (scram-sha-256 for every connection), unlike a distribution's default
// cluster, which may trust local connections: a test that proves a
// password works, or stopped working, needs such a server.
//
// The package is for tests only; it imports testing and fails the calling
// test on any error.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds how long a server may take to start or stop.
const startTimeout = 60 * time.Second

// Postgres is a running (or stopped) throwaway PostgreSQL server. Its
// methods are safe for concurrent use (Stop and Start are serialised).
type Postgres struct {
	bin      string // directory holding initdb, pg_ctl, postgres
	dir      string // the test's temporary directory (owned by runAs)
	dataDir  string
	sockDir  string
	logFile  string
	port     int
	password string
	runAs    *runAs

	mu      sync.Mutex
	running bool
}

// superUser is the bootstrap superuser initdb creates.
const superUser = "postgres"

// StartPostgres initialises a cluster in t.TempDir() with a random
// superuser password and password authentication for every connection,
// starts it on a free 127.0.0.1 port (its unix socket in the temporary
// directory), waits until it accepts a password login, and stops it when
// the test ends. It fails the test (never skips it) when the server
// binaries are missing: install the Debian package postgresql.
//
// Running as root, the server runs as the postgres system user (initdb
// refuses root), and the temporary directory is handed to that user.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := findBinDir(defaultBinGlobs, nil)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ra, err := currentRunAs()
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	p := &Postgres{bin: bin, dir: t.TempDir(), password: randomHex(t, 16), runAs: ra}
	p.dataDir = filepath.Join(p.dir, "data")
	p.sockDir = filepath.Join(p.dir, "sock")
	p.logFile = filepath.Join(p.dir, "postgres.log")
	if err := p.prepareDir(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if err := p.initdb(); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("dbtest: stopping PostgreSQL: %v", err)
		}
	})
	p.startOnFreePort(t)
	return p
}

// URL is a connection URL for the superuser (sslmode=disable).
func (p *Postgres) URL() string { return p.URLFor(superUser, p.password) }

// URLFor is a connection URL for the given user and password.
func (p *Postgres) URLFor(user, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     p.Addr(),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// TemplateURL is a connection URL with {{username}} and {{password}}
// placeholders, as a database engine config's connection_url holds them.
func (p *Postgres) TemplateURL() string {
	return "postgres://{{username}}:{{password}}@" + p.Addr() + "/postgres?sslmode=disable"
}

// Addr is the server's host:port on 127.0.0.1.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// SuperUser is the bootstrap superuser's name.
func (p *Postgres) SuperUser() string { return superUser }

// Password is the bootstrap superuser's password (random per server).
func (p *Postgres) Password() string { return p.password }

// Stop stops the server (pg_ctl stop -m fast: sessions are ended). It is
// a no-op when the server is already stopped.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.stop(); err != nil {
		t.Fatalf("dbtest: stopping PostgreSQL: %v", err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// accepts a password login. It is a no-op when the server is running.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("dbtest: starting PostgreSQL: %v", err)
	}
}

// startOnFreePort picks a free port and starts the server, retrying with
// another port when one is taken between the pick and the bind.
func (p *Postgres) startOnFreePort(t testing.TB) {
	t.Helper()
	var err error
	for range 3 {
		if p.port, err = freePort(); err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		if err = p.start(); err == nil {
			return
		}
	}
	t.Fatalf("dbtest: starting PostgreSQL: %v", err)
}

func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return nil
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "+
		"-c synchronous_commit=off -c full_page_writes=off -c max_connections=50",
		p.port, p.sockDir)
	if err := p.run(p.pgCtl("start", "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())),
		"-l", p.logFile, "-o", opts)); err != nil {
		return fmt.Errorf("%w\n%s", err, p.logTail())
	}
	p.running = true
	if err := p.waitReady(); err != nil {
		return fmt.Errorf("%w\n%s", err, p.logTail())
	}
	return nil
}

func (p *Postgres) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		return nil
	}
	if err := p.run(p.pgCtl("stop", "-w", "-m", "fast", "-t", strconv.Itoa(int(startTimeout.Seconds())))); err != nil {
		return err
	}
	p.running = false
	return nil
}

// waitReady polls until the superuser can log in with its password.
func (p *Postgres) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, p.URL())
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server on %s not accepting connections: %w", p.Addr(), err)
		case <-tick.C:
		}
	}
}

func (p *Postgres) pgCtl(args ...string) []string {
	return append([]string{filepath.Join(p.bin, "pg_ctl"), "-D", p.dataDir}, args...)
}

// logTail is the end of the server log, for failure messages.
func (p *Postgres) logTail() string {
	b, err := os.ReadFile(p.logFile)
	if err != nil {
		return "(no server log)"
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "server log:\n" + string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dbtest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
