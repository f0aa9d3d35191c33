package mysql_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

func TestCustomCreationStatements(t *testing.T) {
	root := rootDB(t)
	ctx := testCtx(t)
	table := "sv_grant_" + randomSuffix(8)
	if _, err := root.ExecContext(ctx, "CREATE TABLE test."+table+" (v INT)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = root.ExecContext(context.Background(), "DROP TABLE IF EXISTS test."+table) })

	db := newPlugin(t, rootConfig())
	pw := newPassword() // holds ' " \ ; and a backtick
	name := newUser(t, db, root, pw,
		`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';
		 -- a comment; with a semicolon
		 GRANT SELECT, INSERT ON `+"`test`"+`.* TO "{{username}}"@'%';`,
		`SET @sv_note = 'quoted ; semicolon and ''quotes'''; /* block; comment */`,
	)

	user := openAs(name, pw)
	defer func() { _ = user.Close() }()
	if _, err := user.ExecContext(ctx, "INSERT INTO test."+table+" VALUES (1)"); err != nil {
		t.Fatalf("insert granted on test.*: %v", err)
	}
	var n int
	if err := user.QueryRowContext(ctx, "SELECT COUNT(*) FROM test."+table).Scan(&n); err != nil || n != 1 {
		t.Fatalf("select granted on test.*: n=%d err=%v", n, err)
	}
	if err := user.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.user").Scan(&n); err == nil {
		t.Error("the user reads mysql.user, which it was not granted")
	}
	var grants []string
	rows, err := root.QueryContext(ctx, "SHOW GRANTS FOR "+sqlString(name)+"@'%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
	}
	_ = rows.Close()
	if joined := strings.Join(grants, "\n"); !strings.Contains(joined, "SELECT, INSERT ON `test`.*") {
		t.Errorf("grants:\n%s\nwant SELECT, INSERT ON `test`.*", joined)
	}
}

func TestCreationFailureRollsBack(t *testing.T) {
	root := rootDB(t)
	tests := []struct {
		name     string
		stmts    []string
		rollback []string
		wantUndo bool // the error also reports a failed rollback
	}{
		{
			name:  "grant on a missing table",
			stmts: []string{createStmt, "GRANT SELECT ON test.sv_no_such_table_x TO '{{name}}'@'%'"},
		},
		{
			name:  "syntax error next to the password",
			stmts: []string{`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON *.* TO '{{name}}'@'%' BOGUS '{{password}}'`},
		},
		{
			name:     "custom rollback statements",
			stmts:    []string{createStmt, "THIS IS NOT SQL"},
			rollback: []string{"DROP USER '{{name}}'@'%'"},
		},
		{
			name:     "failing rollback statements",
			stmts:    []string{createStmt, "THIS IS NOT SQL"},
			rollback: []string{"ALSO NOT SQL"},
			wantUndo: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed := "sv_rb_" + randomSuffix(12)
			dropLater(t, root, fixed)
			cfg := rootConfig()
			cfg.UsernameTemplate = fixed
			db := newPlugin(t, cfg)
			pw := newPassword()
			_, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
				Statements:         dbplugin.Statements{Commands: tt.stmts},
				RollbackStatements: dbplugin.Statements{Commands: tt.rollback},
				Password:           pw,
			})
			if err == nil {
				t.Fatal("NewUser succeeded")
			}
			if userExists(t, root, fixed) {
				t.Errorf("user %s left behind after a failed creation", fixed)
			}
			assertNoSecret(t, err, pw)
			if got := strings.Contains(err.Error(), "rollback statements"); got != tt.wantUndo {
				t.Errorf("error %q: mentions failed rollback = %v, want %v", err, got, tt.wantUndo)
			}
		})
	}
}

func TestNewUserNameTaken(t *testing.T) {
	root := rootDB(t)
	fixed := "sv_dup_" + randomSuffix(12)
	cfg := rootConfig()
	cfg.UsernameTemplate = fixed
	db := newPlugin(t, cfg)
	pw := newPassword()
	name := newUser(t, db, root, pw, createStmt)

	_, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
		Statements: dbplugin.Statements{Commands: []string{createStmt}}, Password: newPassword(),
	})
	if !errors.Is(err, mysqlplugin.ErrUserExists) {
		t.Fatalf("second NewUser of %s: err = %v, want ErrUserExists", name, err)
	}
	if err := login(t, name, pw); err != nil {
		t.Errorf("the existing user was harmed: %v", err)
	}
}

func TestConcurrentNewUser(t *testing.T) {
	root := rootDB(t)
	db := newPlugin(t, rootConfig())
	const n = 12
	names := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
				UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "a-very-long-display-name", RoleName: "a-very-long-role-name"},
				Statements:     dbplugin.Statements{Commands: []string{createStmt}},
				Password:       newPassword(),
			})
			names[i], errs[i] = resp.Username, err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("NewUser %d: %v", i, errs[i])
			continue
		}
		dropLater(t, root, names[i])
		if seen[names[i]] {
			t.Errorf("username %s generated twice", names[i])
		}
		seen[names[i]] = true
		if !userExists(t, root, names[i]) {
			t.Errorf("%s not created", names[i])
		}
	}
}

// assertNoSecret fails the test when err's text holds secret or a
// prefix of it long enough to matter.
func assertNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	prefix := secret
	if len(prefix) > 6 {
		prefix = prefix[:6]
	}
	if strings.Contains(msg, prefix) {
		t.Errorf("error holds the password (or its start): %q", msg)
	}
}
