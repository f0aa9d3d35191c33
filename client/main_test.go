package client_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/client"
	"github.com/secretumvault/secretumvault/internal/awstest"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

// The examples run against one shared real server, started by TestMain
// with a throwaway PostgreSQL server behind its database engine; they
// find it through VAULT_ADDR and VAULT_TOKEN, as a program would.
var shared *realServer

func TestMain(m *testing.M) {
	code, err := runMain(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client tests:", err)
		code = 1
	}
	os.Exit(code)
}

func runMain(m *testing.M) (int, error) {
	tb := &mainTB{}
	defer tb.cleanup()
	rs, err := startRealServer()
	if err != nil {
		return 1, err
	}
	defer rs.close()
	pg := dbtest.StartPostgres(tb)
	if tb.failed != "" {
		return 1, fmt.Errorf("postgres: %s", tb.failed)
	}
	fake, err := awstest.New(awstest.Config{AccessKeyID: fakeAWSKey, SecretAccessKey: fakeAWSSecret})
	if err != nil {
		return 1, err
	}
	defer fake.Close()
	if err := setUpShared(rs, pg, fake.URL); err != nil {
		return 1, err
	}
	shared = rs
	os.Setenv(client.EnvAddress, rs.URL)
	os.Setenv(client.EnvToken, rs.Root)
	return m.Run(), nil
}

// setUpShared mounts and configures what the examples use.
func setUpShared(rs *realServer, pg *dbtest.Postgres, awsURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.New(noEnv, client.WithAddress(rs.URL), client.WithToken(rs.Root))
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE ROLE app WITH LOGIN PASSWORD 'initial-password'`); err != nil {
		return err
	}
	for _, m := range []struct{ path, typ string }{{"database", "database"}, {"transit", "transit"}, {"pki", "pki"}, {"aws", "aws"}} {
		if err := c.Sys().EnableMount(ctx, m.path, &client.MountInput{Type: m.typ}); err != nil {
			return err
		}
	}
	if err := c.Sys().EnableAuth(ctx, "userpass", &client.MountInput{Type: "userpass"}); err != nil {
		return err
	}
	create := []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`}
	writes := []struct {
		path string
		data map[string]any
	}{
		{"database/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin", "connection_url": pg.TemplateURL(),
			"username": pg.SuperUser(), "password": pg.Password(), "allowed_roles": "*"}},
		{"database/roles/readonly", map[string]any{"db_name": "pg", "creation_statements": create, "default_ttl": "1h", "max_ttl": "24h"}},
		{"database/roles/short", map[string]any{"db_name": "pg", "creation_statements": create, "default_ttl": "3s", "max_ttl": "8s"}},
		{"database/static-roles/app", map[string]any{"db_name": "pg", "username": "app", "rotation_period": "24h"}},
		{"transit/keys/app", nil},
		{"transit/keys/signer", map[string]any{"type": "ed25519"}},
		{"pki/root/generate/internal", map[string]any{"common_name": "Example Root", "key_type": "ec", "ttl": "24h"}},
		{"pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "key_type": "ec", "max_ttl": "1h"}},
		{"aws/config/root", map[string]any{"access_key": fakeAWSKey, "secret_key": fakeAWSSecret, "region": "us-east-1",
			"iam_endpoint": awsURL, "sts_endpoint": awsURL, "max_retries": 0}},
		{"aws/roles/deploy", map[string]any{"credential_type": "iam_user", "policy_document": `{"Version":"2012-10-17","Statement":[]}`}},
		{"auth/userpass/users/alice", map[string]any{"password": "alice-password", "policies": "dev"}},
		{"secret/data/app/db", map[string]any{"data": map[string]any{"password": "hunter2"}}},
	}
	for _, w := range writes {
		if _, err := c.Write(ctx, w.path, w.data); err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}

// The key of the fake AWS account behind aws/ (internal/awstest).
const (
	fakeAWSKey    = "AKIAEXAMPLEROOT00001"
	fakeAWSSecret = "example/root/secret/for/tests/0123456789"
)

// mainTB is the little of testing.TB dbtest uses, for TestMain (which
// has no T). Any other method panics: the embedded TB is nil.
type mainTB struct {
	testing.TB
	cleanups []func()
	failed   string
	dirs     []string
}

func (t *mainTB) Helper() {}

func (t *mainTB) TempDir() string {
	dir, err := os.MkdirTemp("", "client-test-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.dirs = append(t.dirs, dir)
	return dir
}

func (t *mainTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *mainTB) Errorf(format string, args ...any) {
	if t.failed == "" {
		t.failed = fmt.Sprintf(format, args...)
	}
}

func (t *mainTB) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	panic("client tests: " + t.failed)
}

func (t *mainTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	for _, d := range t.dirs {
		_ = os.RemoveAll(d)
	}
}
