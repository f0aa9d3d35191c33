package mysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

func TestType(t *testing.T) {
	if got := mysqlplugin.New().Type(); got != "mysql-database-plugin" {
		t.Errorf("New().Type() = %q", got)
	}
	if got := mysqlplugin.NewLegacy().Type(); got != "mysql-legacy-database-plugin" {
		t.Errorf("NewLegacy().Type() = %q", got)
	}
}

func TestNewUserLogsIn(t *testing.T) {
	root := rootDB(t)
	db := newPlugin(t, rootConfig())
	pw := newPassword()
	name := newUser(t, db, root, pw, createStmt)

	if !strings.HasPrefix(name, "v-token-readonly-") || len(name) > 32 {
		t.Errorf("username %q: want prefix v-token-readonly-, at most 32 bytes", name)
	}
	if !userExists(t, root, name) {
		t.Fatalf("%q not in mysql.user", name)
	}
	if err := login(t, name, pw); err != nil {
		t.Fatalf("login with the new credentials: %v", err)
	}
	if err := login(t, name, pw+"x"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
}

func TestUsernameLength(t *testing.T) {
	root := rootDB(t)
	long := strings.Repeat("abcdefghij", 10)
	tests := []struct {
		name        string
		legacy      bool
		display     string
		role        string
		max         int
		wantPrefix  string
		wantRandMin int
	}{
		{"short names", false, "token", "ro", 32, "v-token-ro-", 15},
		{"long names", false, long, long, 32, "v-abcdefghij-abcdefghij-", 8},
		{"multibyte names", false, strings.Repeat("é", 40), strings.Repeat("ü", 40), 32, "v-ééééé-üüüüü-", 8},
		{"legacy long role", true, long, long, 16, "v-abcd-", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mysqlplugin.New()
			if tt.legacy {
				db = mysqlplugin.NewLegacy()
			}
			if err := db.Initialize(testCtx(t), rootConfig()); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
				UsernameConfig: dbplugin.UsernameMetadata{DisplayName: tt.display, RoleName: tt.role},
				Statements:     dbplugin.Statements{Commands: []string{createStmt}},
				Password:       newPassword(),
			})
			if err != nil {
				t.Fatalf("NewUser: %v", err)
			}
			dropLater(t, root, resp.Username)
			if n := len(resp.Username); n > tt.max || n < len(tt.wantPrefix)+tt.wantRandMin {
				t.Errorf("username %q has %d bytes, want %d..%d", resp.Username, n, len(tt.wantPrefix)+tt.wantRandMin, tt.max)
			}
			if !strings.HasPrefix(resp.Username, tt.wantPrefix) {
				t.Errorf("username %q, want prefix %q", resp.Username, tt.wantPrefix)
			}
			if !userExists(t, root, resp.Username) {
				t.Errorf("%q not created", resp.Username)
			}
		})
	}
}

func TestUsernameTemplateOverLimit(t *testing.T) {
	root := rootDB(t)
	cfg := rootConfig()
	cfg.UsernameTemplate = `sv-{{ .RoleName }}`
	db := newPlugin(t, cfg)
	role := strings.Repeat("r", 40)
	_, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
		UsernameConfig: dbplugin.UsernameMetadata{RoleName: role},
		Statements:     dbplugin.Statements{Commands: []string{createStmt}},
		Password:       newPassword(),
	})
	if !errors.Is(err, dbplugin.ErrInvalidConfig) {
		t.Fatalf("NewUser with a 43-byte name: err = %v, want ErrInvalidConfig", err)
	}
	if userExists(t, root, "sv-"+role) || userExists(t, root, "sv-"+role[:29]) {
		t.Error("a user was created")
	}
}

func TestUpdateUserPassword(t *testing.T) {
	root := rootDB(t)
	db := newPlugin(t, rootConfig())
	oldPw, newPw := newPassword(), newPassword()
	name := newUser(t, db, root, oldPw, createStmt)

	err := db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{
		Username: name, Password: &dbplugin.ChangePassword{NewPassword: newPw},
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := login(t, name, oldPw); err == nil {
		t.Error("the old password still logs in")
	}
	if err := login(t, name, newPw); err != nil {
		t.Errorf("the new password does not log in: %v", err)
	}

	// Custom statements (MariaDB and MySQL 5.7.6+ both take SET PASSWORD).
	third := newPassword()
	err = db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{Username: name, Password: &dbplugin.ChangePassword{
		NewPassword: third,
		Statements:  dbplugin.Statements{Commands: []string{`SET PASSWORD FOR '{{name}}'@'%' = PASSWORD('{{password}}')`}},
	}})
	if err != nil {
		t.Fatalf("UpdateUser with statements: %v", err)
	}
	if err := login(t, name, third); err != nil {
		t.Errorf("the password set by custom statements does not log in: %v", err)
	}
}

func TestUpdateUserExpiration(t *testing.T) {
	root := rootDB(t)
	ctx := testCtx(t)
	table := "test.sv_exp_" + randomSuffix(8)
	if _, err := root.ExecContext(ctx, "CREATE TABLE "+table+" (name VARCHAR(80), exp VARCHAR(40))"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = root.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+table) })
	db := newPlugin(t, rootConfig())
	name := newUser(t, db, root, newPassword(), createStmt)
	exp := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)

	// Without statements an expiration change does nothing, as in Vault.
	if err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: name,
		Expiration: &dbplugin.ChangeExpiration{NewExpiration: exp}}); err != nil {
		t.Fatalf("UpdateUser(expiration): %v", err)
	}
	err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: name, Expiration: &dbplugin.ChangeExpiration{
		NewExpiration: exp,
		Statements:    dbplugin.Statements{Commands: []string{"INSERT INTO " + table + " VALUES ('{{name}}', '{{expiration}}')"}},
	}})
	if err != nil {
		t.Fatalf("UpdateUser(expiration statements): %v", err)
	}
	var gotName, gotExp string
	if err := root.QueryRowContext(ctx, "SELECT name, exp FROM "+table).Scan(&gotName, &gotExp); err != nil {
		t.Fatal(err)
	}
	if gotName != name || gotExp != "2031-02-03 04:05:06+0000" {
		t.Errorf("renewal statement stored (%q, %q), want (%q, 2031-02-03 04:05:06+0000)", gotName, gotExp, name)
	}
}

func TestDeleteUserEndsSessions(t *testing.T) {
	root := rootDB(t)
	tests := []struct {
		name  string
		stmts []string
	}{
		{"default revocation", nil},
		{"custom revocation", []string{"REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER '{{name}}'@'%'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := newPlugin(t, rootConfig())
			pw := newPassword()
			name := newUser(t, db, root, pw, createStmt)
			ctx := testCtx(t)

			session := openAs(name, pw)
			defer func() { _ = session.Close() }()
			conn, err := session.Conn(ctx)
			if err != nil {
				t.Fatalf("session of the new user: %v", err)
			}
			defer func() { _ = conn.Close() }()
			if _, err := conn.ExecContext(ctx, "SELECT 1"); err != nil {
				t.Fatalf("query in the session: %v", err)
			}

			req := dbplugin.DeleteUserRequest{Username: name, Statements: dbplugin.Statements{Commands: tt.stmts}}
			if err := db.DeleteUser(ctx, req); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			if _, err := conn.ExecContext(ctx, "SELECT 1"); err == nil {
				t.Error("the user's open session still runs queries")
			}
			if userExists(t, root, name) {
				t.Error("user still in mysql.user")
			}
			if err := login(t, name, pw); err == nil {
				t.Error("the deleted user still logs in")
			}
			req.Statements = dbplugin.Statements{} // Vault's default is idempotent
			if err := db.DeleteUser(ctx, req); err != nil {
				t.Errorf("second DeleteUser: %v", err)
			}
		})
	}
}

func TestDeleteUserMissing(t *testing.T) {
	db := newPlugin(t, rootConfig())
	if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: "sv-never-" + randomSuffix(8)}); err != nil {
		t.Fatalf("DeleteUser of a user that never existed: %v", err)
	}
}

func TestRootRotation(t *testing.T) {
	root := rootDB(t)
	tests := []struct {
		name string
		url  func(user, pw string) string
	}{
		{"templated URL", func(string, string) string { return templatedURL() }},
		{"literal credentials", func(user, pw string) string {
			return user + ":" + pw + "@tcp(" + testAddr() + ")/"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			oldPw := "Adm-" + randomSuffix(20)
			admin := adminUser(t, root, oldPw)
			db := newPlugin(t, dbplugin.Config{
				ConnectionURL: tt.url(admin, oldPw), Username: admin, Password: oldPw, VerifyConnection: true,
			})
			newUser(t, db, root, newPassword(), createStmt)

			newPw := newPassword()
			if err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{
				Username: admin, Password: &dbplugin.ChangePassword{NewPassword: newPw},
			}); err != nil {
				t.Fatalf("rotate root: %v", err)
			}
			if err := login(t, admin, oldPw); err == nil {
				t.Error("the old admin password still logs in")
			}
			if err := login(t, admin, newPw); err != nil {
				t.Errorf("the new admin password does not log in: %v", err)
			}
			// End the pool's sessions so that it must log in again.
			killSessionsOf(t, root, admin)
			pw := newPassword()
			name := newUser(t, db, root, pw, createStmt)
			if err := login(t, name, pw); err != nil {
				t.Errorf("user created after rotation: %v", err)
			}
			if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: name}); err != nil {
				t.Errorf("DeleteUser after rotation: %v", err)
			}
		})
	}
}

// killSessionsOf kills every connection of user, as root.
func killSessionsOf(t *testing.T, root *sql.DB, user string) {
	t.Helper()
	ctx := testCtx(t)
	rows, err := root.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", user)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_ = rows.Close()
	if len(ids) == 0 {
		t.Fatalf("no session of %s to kill: the test would prove nothing", user)
	}
	for _, id := range ids {
		if _, err := root.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRootRotationUnderLoad(t *testing.T) {
	root := rootDB(t)
	oldPw := "Adm-" + randomSuffix(20)
	admin := adminUser(t, root, oldPw)
	db := newPlugin(t, dbplugin.Config{
		ConnectionURL: templatedURL(), Username: admin, Password: oldPw, MaxOpenConnections: 2,
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	var warm sync.WaitGroup // every worker has done one round
	warm.Add(3)
	for range 3 {
		wg.Go(func() {
			for round := 0; ; round++ {
				if round == 1 {
					warm.Done()
				}
				select {
				case <-stop:
					return
				default:
				}
				resp, err := db.NewUser(testCtx(t), dbplugin.NewUserRequest{
					UsernameConfig: dbplugin.UsernameMetadata{DisplayName: "load", RoleName: "r"},
					Statements:     dbplugin.Statements{Commands: []string{createStmt}}, Password: newPassword(),
				})
				if err == nil {
					err = db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: resp.Username})
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	warm.Wait()
	pw := oldPw
	for range 3 {
		pw = newPassword()
		if err := db.UpdateUser(testCtx(t), dbplugin.UpdateUserRequest{
			Username: admin, Password: &dbplugin.ChangePassword{NewPassword: pw},
		}); err != nil {
			t.Errorf("rotate root: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("operation during rotation: %v", err)
	}
	if err := login(t, admin, pw); err != nil {
		t.Errorf("the last admin password does not log in: %v", err)
	}
	killSessionsOf(t, root, admin)
	newUser(t, db, root, newPassword(), createStmt)
}

func TestDeleteUserEveryHost(t *testing.T) {
	root := rootDB(t)
	db := newPlugin(t, rootConfig())
	name := newUser(t, db, root, newPassword(),
		`CREATE USER '{{name}}'@'localhost' IDENTIFIED BY '{{password}}'; CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`)
	if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: name}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if userExists(t, root, name) {
		t.Error("an account of the user was left")
	}
}
