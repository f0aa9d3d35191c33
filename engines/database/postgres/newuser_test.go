package postgres_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

func TestNewUser(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	conn := superConn(t, pg)
	if _, err := conn.Exec(testCtx(t), `CREATE TABLE things (n int); INSERT INTO things VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	grant := `GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`
	comment := `COMMENT ON ROLE "{{name}}" IS 'semi; colon ''quoted'' -- not a comment';`

	tests := []struct {
		name        string
		commands    []string
		wantComment string
	}{
		{"vault docs statement", []string{createStmt + "\n" + grant}, ""},
		{"separate entries", []string{createStmt, grant}, ""},
		{"quotes and semicolons in a literal", []string{createStmt + comment + grant}, "semi; colon 'quoted' -- not a comment"},
		{"dollar-quoted block", []string{createStmt + `
			DO $body$ BEGIN
				EXECUTE format('COMMENT ON ROLE %I IS %L', '{{name}}', 'from; DO');
			END $body$;` + grant}, "from; DO"},
		{"comments with semicolons", []string{"-- first; comment\n" + createStmt + "/* a; /* nested; */ comment */" + grant}, ""},
		{"json array", []string{`["` + strings.ReplaceAll(createStmt, `"`, `\"`) + `", "` + strings.ReplaceAll(grant, `"`, `\"`) + `"]`}, ""},
		{"base64", []string{base64.StdEncoding.EncodeToString([]byte(createStmt + grant))}, ""},
		{"case end sent whole", []string{createStmt + `COMMENT ON ROLE "{{name}}" IS 'x'; SELECT CASE WHEN true THEN 1 END;` + grant}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			exp := time.Now().Add(time.Hour).Truncate(time.Second)
			resp, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "token", RoleName: "readonly"},
				Statements:     dbplugin.Statements{Commands: tt.commands},
				Password:       "Pa55-word-" + tt.name[:3],
				Expiration:     exp,
			})
			if err != nil {
				t.Fatalf("NewUser: %v", err)
			}
			if !roleExists(t, conn, resp.Username) {
				t.Fatalf("%q not in pg_roles", resp.Username)
			}
			if got := validUntil(t, conn, resp.Username); !got.Equal(exp) {
				t.Errorf("VALID UNTIL = %v, want %v", got, exp)
			}
			var n int
			uc, err := pgx.Connect(ctx, pg.URLFor(resp.Username, "Pa55-word-"+tt.name[:3]))
			if err != nil {
				t.Fatalf("login as new user: %v", err)
			}
			defer uc.Close(ctx)
			if err := uc.QueryRow(ctx, "SELECT n FROM things").Scan(&n); err != nil || n != 7 {
				t.Fatalf("query as new user: n=%d err=%v", n, err)
			}
			var c *string
			if err := conn.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1`,
				resp.Username).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if got := deref(c); got != tt.wantComment {
				t.Errorf("comment = %q, want %q", got, tt.wantComment)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestNewUserFailureRollsBack(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg, func(c *dbplugin.Config) { c.UsernameTemplate = "rb-{{random 10}}" })
	conn := superConn(t, pg)
	ctx := testCtx(t)
	if _, err := conn.Exec(ctx, `CREATE TABLE rollback_log (name text)`); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_roles WHERE rolname LIKE 'rb-%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	tests := []struct {
		name     string
		commands []string
		rollback []string
		wantLog  int
	}{
		{"failing second statement", []string{createStmt + `SELECT 1/0;`}, nil, 0},
		{"failing second entry", []string{createStmt, `GRANT SELECT ON no_such_table TO "{{name}}"`}, nil, 0},
		{"rollback statements run", []string{createStmt, `SELECT 1/0`}, []string{`INSERT INTO rollback_log VALUES ('{{name}}')`}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := count()
			_, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				Statements:         dbplugin.Statements{Commands: tt.commands},
				RollbackStatements: dbplugin.Statements{Commands: tt.rollback},
				Password:           "pw-rollback",
				Expiration:         time.Now().Add(time.Hour),
			})
			if err == nil {
				t.Fatal("NewUser succeeded")
			}
			if after := count(); after != before {
				t.Fatalf("roles rb-*: %d before, %d after a failed NewUser", before, after)
			}
			var logged int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM rollback_log`).Scan(&logged); err != nil {
				t.Fatal(err)
			}
			if logged != tt.wantLog {
				t.Fatalf("rollback_log rows = %d, want %d", logged, tt.wantLog)
			}
			if _, err := conn.Exec(ctx, `TRUNCATE rollback_log`); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewUserUsernames(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	conn := superConn(t, pg)
	long := strings.Repeat("display-name-that-goes-on-", 10)
	tests := []struct {
		name     string
		template string
		meta     dbplugin.UsernameMetadata
		want     *regexp.Regexp
	}{
		{"default template", "", dbplugin.UsernameMetadata{DisplayName: "token-abcdefgh", RoleName: "readonly-role"},
			regexp.MustCompile(`^v-token-ab-readonly-[A-Za-z0-9]{20}-[0-9]{10}$`)},
		{"default template, long names", "", dbplugin.UsernameMetadata{DisplayName: long, RoleName: long},
			regexp.MustCompile(`^v-display--display--[A-Za-z0-9]{20}-[0-9]{10}$`)},
		{"quotes in metadata become _", "", dbplugin.UsernameMetadata{DisplayName: `o'"x`, RoleName: "r"},
			regexp.MustCompile(`^v-o__x-r-[A-Za-z0-9]{20}-[0-9]{10}$`)},
		{"custom template over 63 bytes is clipped", `{{.DisplayName}}-{{.RoleName}}-{{random 8}}`,
			dbplugin.UsernameMetadata{DisplayName: long, RoleName: long}, regexp.MustCompile(`^display-name-that-goes-on-`)},
		{"multibyte clipped on a rune boundary", `{{.DisplayName}}`,
			dbplugin.UsernameMetadata{DisplayName: "a" + strings.Repeat("é", 40)}, regexp.MustCompile(`^a(é){31}$`)},
		{"functions", `{{ .RoleName | uppercase | replace "-" "_" }}_{{ .DisplayName | lowercase | truncate 3 }}_{{ random 4 }}`,
			dbplugin.UsernameMetadata{DisplayName: "TOKEN", RoleName: "my-role"}, regexp.MustCompile(`^MY_ROLE_tok_[A-Za-z0-9]{4}$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newDatabase(t, pg, func(c *dbplugin.Config) { c.UsernameTemplate = tt.template })
			resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
				UsernameConfig: tt.meta,
				Statements:     dbplugin.Statements{Commands: []string{createStmt}},
				Password:       "pw",
				Expiration:     time.Now().Add(time.Hour),
			})
			if err != nil {
				t.Fatalf("NewUser: %v", err)
			}
			if n := len(resp.Username); n > postgres.MaxUsernameLength {
				t.Fatalf("username %q is %d bytes", resp.Username, n)
			}
			if !tt.want.MatchString(resp.Username) {
				t.Fatalf("username %q does not match %s", resp.Username, tt.want)
			}
			if !roleExists(t, conn, resp.Username) {
				t.Fatalf("role %q (as returned) not in pg_roles", resp.Username)
			}
		})
	}
}

func TestNewUserConcurrent(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	const maxOpen = 2
	db := newDatabase(t, pg, func(c *dbplugin.Config) { c.MaxOpenConnections = maxOpen })
	conn := superConn(t, pg)
	ctx := testCtx(t)

	const n = 12
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			resp, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "same", RoleName: "same"},
				Statements:     dbplugin.Statements{Commands: []string{createStmt, `SELECT pg_sleep(0.05)`}},
				Password:       fmt.Sprintf("pw-%d", i),
				Expiration:     time.Now().Add(time.Hour),
			})
			names[i], errs[i] = resp.Username, err
		})
	}
	// While they run, the plugin's sessions never exceed the pool bound.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	peak := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		var s int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'secretumvault'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, s)
	}
	if peak > maxOpen || peak == 0 {
		t.Errorf("peak plugin sessions = %d, want 1..%d", peak, maxOpen)
	}
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("NewUser %d: %v", i, errs[i])
		}
		if seen[names[i]] {
			t.Fatalf("username %q returned twice", names[i])
		}
		seen[names[i]] = true
		if err := login(ctx, pg, names[i], fmt.Sprintf("pw-%d", i)); err != nil {
			t.Fatalf("login %q: %v", names[i], err)
		}
	}
}

func TestNewUserInvalid(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	tests := []struct {
		name string
		req  dbplugin.NewUserRequest
	}{
		{"no statements", dbplugin.NewUserRequest{Password: "pw"}},
		{"blank statements", dbplugin.NewUserRequest{Statements: dbplugin.Statements{Commands: []string{" ; ", "-- c"}}}},
		{"single quote in password", dbplugin.NewUserRequest{Statements: dbplugin.Statements{Commands: []string{createStmt}},
			Password: "it's"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.NewUser(testCtx(t), tt.req)
			if !errors.Is(err, postgres.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}
