package postgres_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

func TestType(t *testing.T) {
	if got := postgres.New().Type(); got != "postgresql-database-plugin" {
		t.Fatalf("Type = %q", got)
	}
}

func TestInitializeInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  dbplugin.Config
	}{
		{"empty url", dbplugin.Config{}},
		{"placeholder in password", dbplugin.Config{ConnectionURL: "postgres://x/y", Password: "{{password}}"}},
		{"negative max open", dbplugin.Config{ConnectionURL: "postgres://x/y", MaxOpenConnections: -1}},
		{"negative max idle", dbplugin.Config{ConnectionURL: "postgres://x/y", MaxIdleConnections: -1}},
		{"negative lifetime", dbplugin.Config{ConnectionURL: "postgres://x/y", MaxConnectionLifetime: -time.Second}},
		{"bad template", dbplugin.Config{ConnectionURL: "postgres://x/y", UsernameTemplate: "{{ .Nope"}},
		{"template that cannot render", dbplugin.Config{ConnectionURL: "postgres://x/y", UsernameTemplate: "{{ truncate 0 .RoleName }}"}},
		{"unparseable url", dbplugin.Config{ConnectionURL: "postgres://u:{{password}}@host:notaport/db", Password: "s3cret-pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := postgres.New().Initialize(testCtx(t), tt.cfg)
			if !errors.Is(err, dbplugin.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if tt.cfg.Password != "" {
				assertNoSecret(t, err, tt.cfg.Password)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	ctx := testCtx(t)
	cfg := dbplugin.Config{ConnectionURL: pg.TemplateURL(), Username: pg.SuperUser(), Password: pg.Password()}

	db := postgres.New()
	if _, err := db.NewUser(ctx, dbplugin.NewUserRequest{Statements: dbplugin.Statements{Commands: []string{createStmt}}}); !errors.Is(err, dbplugin.ErrNotInitialized) {
		t.Fatalf("NewUser before Initialize: %v", err)
	}
	// Without VerifyConnection a bad password is found on first use.
	bad := cfg
	bad.Password = "wrong-" + pg.Password()
	if err := db.Initialize(ctx, bad); err != nil {
		t.Fatalf("Initialize without verify: %v", err)
	}
	_, err := db.NewUser(ctx, dbplugin.NewUserRequest{Statements: dbplugin.Statements{Commands: []string{createStmt}}})
	assertNoSecret(t, err, bad.Password)
	if err := db.Initialize(ctx, cfg); !errors.Is(err, postgres.ErrAlreadyInitialized) {
		t.Fatalf("second Initialize: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Initialize": db.Initialize(ctx, cfg),
		"UpdateUser": db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: "u", Expiration: &dbplugin.ChangeExpiration{}}),
		"DeleteUser": db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: "u"}),
	} {
		if !errors.Is(err, dbplugin.ErrNotInitialized) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}

	// A failed verification leaves the Database uninitialized: retry works.
	db = postgres.New()
	bad.VerifyConnection = true
	err = db.Initialize(ctx, bad)
	assertNoSecret(t, err, bad.Password)
	cfg.VerifyConnection = true
	if err := db.Initialize(ctx, cfg); err != nil {
		t.Fatalf("Initialize after a failed one: %v", err)
	}
	db.Close()
}

func TestKeywordValueConnectionString(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	conn := superConn(t, pg)
	ctx := testCtx(t)
	pw := `sp ace\back'quote@:/?%`
	if _, err := conn.Exec(ctx, `CREATE ROLE kvroot LOGIN SUPERUSER PASSWORD 'sp ace\back''quote@:/?%'`); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(pg.Addr(), ":")
	for name, connURL := range map[string]string{
		"keyword/value": "host=" + host + " port=" + port + " dbname=postgres sslmode=disable user={{username}} password={{password}}",
		"url":           pg.TemplateURL(),
	} {
		t.Run(name, func(t *testing.T) {
			db := newDatabase(t, pg, func(c *dbplugin.Config) {
				c.ConnectionURL, c.Username, c.Password = connURL, "kvroot", pw
			})
			newUser(t, db, "pw", time.Now().Add(time.Hour))
		})
	}
}

func TestErrorsHoldNoPassword(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	ctx := testCtx(t)
	user := newUser(t, db, "pw", time.Now().Add(time.Hour))
	// Statements that make the server quote the password back.
	echo := dbplugin.Statements{Commands: []string{`SELECT "{{password}}"`}}
	const secret = "Echo-Me-Secret-42"

	tests := []struct {
		name string
		call func() error
	}{
		{"NewUser", func() error {
			_, err := db.NewUser(ctx, dbplugin.NewUserRequest{Statements: echo, Password: secret})
			return err
		}},
		{"UpdateUser", func() error {
			return db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: user,
				Password: &dbplugin.ChangePassword{NewPassword: secret, Statements: echo}})
		}},
		{"root password in a statement", func() error {
			_, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				Statements: dbplugin.Statements{Commands: []string{`SELECT "` + pg.Password() + `"`}}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			assertNoSecret(t, err, secret, url.PathEscape(secret), pg.Password())
			if !strings.Contains(err.Error(), "[password]") {
				t.Fatalf("error %q: want the password replaced by [password]", err)
			}
		})
	}
}
