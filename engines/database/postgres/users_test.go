package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	conn := superConn(t, pg)
	hour := time.Now().Add(time.Hour).Truncate(time.Second)
	day := time.Now().Add(24 * time.Hour).Truncate(time.Second)

	tests := []struct {
		name    string
		pw      *dbplugin.ChangePassword
		exp     *dbplugin.ChangeExpiration
		wantPW  string // "" keeps the old password
		wantExp time.Time
	}{
		{"password, default statement", &dbplugin.ChangePassword{NewPassword: "new-pw-1"}, nil, "new-pw-1", hour},
		{"password, custom statements", &dbplugin.ChangePassword{NewPassword: "new-pw-2", Statements: dbplugin.Statements{
			Commands: []string{`ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}'; COMMENT ON ROLE "{{name}}" IS 'rotated'`}}},
			nil, "new-pw-2", hour},
		{"expiration, default statement", nil, &dbplugin.ChangeExpiration{NewExpiration: day}, "", day},
		{"expiration, custom statement", nil, &dbplugin.ChangeExpiration{NewExpiration: day, Statements: dbplugin.Statements{
			Commands: []string{`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`}}}, "", day},
		{"both", &dbplugin.ChangePassword{NewPassword: "new-pw-3"}, &dbplugin.ChangeExpiration{NewExpiration: day}, "new-pw-3", day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			user := newUser(t, db, "old-pw", hour)
			err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: user, Password: tt.pw, Expiration: tt.exp})
			if err != nil {
				t.Fatalf("UpdateUser: %v", err)
			}
			if tt.wantPW != "" {
				if err := login(ctx, pg, user, "old-pw"); err == nil {
					t.Fatal("old password still logs in")
				}
				if err := login(ctx, pg, user, tt.wantPW); err != nil {
					t.Fatalf("new password: %v", err)
				}
			} else if err := login(ctx, pg, user, "old-pw"); err != nil {
				t.Fatalf("password changed by an expiration update: %v", err)
			}
			if got := validUntil(t, conn, user); !got.Equal(tt.wantExp) {
				t.Fatalf("VALID UNTIL = %v, want %v", got, tt.wantExp)
			}
		})
	}
}

func TestUpdateUserInvalid(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	tests := []struct {
		name string
		req  dbplugin.UpdateUserRequest
	}{
		{"nothing to change", dbplugin.UpdateUserRequest{Username: "u"}},
		{"no username", dbplugin.UpdateUserRequest{Password: &dbplugin.ChangePassword{NewPassword: "x"}}},
		{"empty password", dbplugin.UpdateUserRequest{Username: "u", Password: &dbplugin.ChangePassword{}}},
		{"quote in password", dbplugin.UpdateUserRequest{Username: "u", Password: &dbplugin.ChangePassword{NewPassword: "a'b"}}},
		{"quote in username", dbplugin.UpdateUserRequest{Username: `u"; DROP ROLE x; --`,
			Expiration: &dbplugin.ChangeExpiration{NewExpiration: time.Now()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := db.UpdateUser(testCtx(t), tt.req); !errors.Is(err, postgres.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestRootRotation(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	conn := superConn(t, pg)
	ctx := testCtx(t)
	if _, err := conn.Exec(ctx, `CREATE ROLE vaultroot WITH LOGIN SUPERUSER PASSWORD 'root-pw-1'`); err != nil {
		t.Fatal(err)
	}
	db := newDatabase(t, pg, func(c *dbplugin.Config) { c.Username, c.Password = "vaultroot", "root-pw-1" })

	before := newUser(t, db, "pw", time.Now().Add(time.Hour)) // the pool holds a session now
	for i, pw := range []string{"root-pw-2", "root-pw-3"} {
		if err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{
			Username: "vaultroot", Password: &dbplugin.ChangePassword{NewPassword: pw},
		}); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		for _, old := range []string{"root-pw-1", "root-pw-2"}[:i+1] {
			if err := login(ctx, pg, "vaultroot", old); err == nil {
				t.Fatalf("rotation %d: old root password %q still logs in", i, old)
			}
		}
		if err := login(ctx, pg, "vaultroot", pw); err != nil {
			t.Fatalf("rotation %d: new root password: %v", i, err)
		}
		// The plugin keeps working, and with its sessions ended it must log
		// in again: with the new password.
		endSessions(t, conn, "vaultroot")
		after := newUser(t, db, "pw", time.Now().Add(time.Hour))
		if err := login(ctx, pg, after, "pw"); err != nil {
			t.Fatalf("user made after rotation %d: %v", i, err)
		}
	}
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: before}); err != nil {
		t.Fatalf("DeleteUser after rotation: %v", err)
	}
	if roleExists(t, conn, before) {
		t.Fatalf("%q survived DeleteUser", before)
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	conn := superConn(t, pg)
	create := []string{createStmt, `GRANT CREATE, USAGE ON SCHEMA public TO "{{name}}"`}

	tests := []struct {
		name       string
		statements []string
		ownsTable  bool // the user creates a table: default revocation reassigns it
	}{
		{"default, open session, owned table", nil, true},
		{"custom statements", []string{`REVOKE ALL ON SCHEMA public FROM "{{name}}"; DROP ROLE IF EXISTS "{{username}}";`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			resp, err := db.NewUser(ctx, dbplugin.NewUserRequest{
				Statements: dbplugin.Statements{Commands: create},
				Password:   "pw-del", Expiration: time.Now().Add(time.Hour),
			})
			if err != nil {
				t.Fatal(err)
			}
			user := resp.Username
			session, err := pgx.Connect(ctx, pg.URLFor(user, "pw-del"))
			if err != nil {
				t.Fatal(err)
			}
			defer session.Close(context.Background())
			table := "t_" + user[len(user)-10:]
			if tt.ownsTable {
				if _, err := session.Exec(ctx, `CREATE TABLE `+pgx.Identifier{table}.Sanitize()+` (n int)`); err != nil {
					t.Fatal(err)
				}
			} else {
				session.Close(ctx) // custom statements do not end sessions
			}

			for i := range 2 { // the second call finds no user: success
				if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{
					Username: user, Statements: dbplugin.Statements{Commands: tt.statements},
				}); err != nil {
					t.Fatalf("DeleteUser #%d: %v", i+1, err)
				}
			}
			if roleExists(t, conn, user) {
				t.Fatalf("%q still in pg_roles", user)
			}
			if err := login(ctx, pg, user, "pw-del"); err == nil {
				t.Fatal("deleted user logs in")
			}
			if !tt.ownsTable {
				return
			}
			if err := session.Ping(ctx); err == nil {
				t.Fatal("the user's session survived DeleteUser")
			}
			var owner string
			if err := conn.QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = $1`, table).Scan(&owner); err != nil {
				t.Fatalf("table the user owned: %v", err)
			}
			if owner != pg.SuperUser() {
				t.Fatalf("table owner = %q, want %q", owner, pg.SuperUser())
			}
		})
	}

	t.Run("never existed", func(t *testing.T) {
		if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: `no "such" user`}); err != nil {
			t.Fatalf("DeleteUser of a missing user: %v", err)
		}
	})
}

func TestDeleteUserServerDown(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	user := newUser(t, db, "pw", time.Now().Add(time.Hour))

	pg.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: user}); err == nil {
		t.Fatal("DeleteUser succeeded with the server stopped")
	}
	pg.Start(t)
	if err := db.DeleteUser(testCtx(t), dbplugin.DeleteUserRequest{Username: user}); err != nil {
		t.Fatalf("DeleteUser after restart: %v", err)
	}
	conn := superConn(t, pg)
	if roleExists(t, conn, user) {
		t.Fatalf("%q survived", user)
	}
}

// endSessions terminates user's sessions and waits until they are gone.
func endSessions(t *testing.T, conn *pgx.Conn, user string) {
	t.Helper()
	ctx := testCtx(t)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var left int
		err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1`, user).Scan(&left)
		if err != nil {
			t.Fatalf("terminating sessions of %q: %v", user, err)
		}
		if left == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sessions of %q still running", user)
		case <-tick.C:
		}
	}
}

// TestSessionsEndedByServer: pooled sessions the server ended (an
// administrator, a restart) are replaced, not reported as errors.
func TestSessionsEndedByServer(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	conn := superConn(t, pg)
	ctx := testCtx(t)
	for i := range 3 {
		newUser(t, db, "pw", time.Now().Add(time.Hour))
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'secretumvault'`); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: "nobody"}); err != nil {
			t.Fatalf("round %d: DeleteUser after the server ended the pool's sessions: %v", i, err)
		}
	}
}

// TestNoExpiration: the zero time renders as 'infinity'.
func TestNoExpiration(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	conn := superConn(t, pg)
	ctx := testCtx(t)
	infinite := func(user string) bool {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT rolvaliduntil = 'infinity' FROM pg_roles WHERE rolname = $1`, user).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	user := newUser(t, db, "pw", time.Time{})
	if !infinite(user) {
		t.Fatal("NewUser with no expiration: VALID UNTIL is not infinity")
	}
	if err := login(ctx, pg, user, "pw"); err != nil {
		t.Fatalf("login: %v", err)
	}
	user = newUser(t, db, "pw", time.Now().Add(time.Hour))
	if err := db.UpdateUser(ctx, dbplugin.UpdateUserRequest{Username: user, Expiration: &dbplugin.ChangeExpiration{}}); err != nil {
		t.Fatal(err)
	}
	if !infinite(user) {
		t.Fatal("UpdateUser to no expiration: VALID UNTIL is not infinity")
	}
}

// TestDeleteUserUnprivilegedRoot: a root that may create roles but is no
// superuser (nor a member of the roles it creates) cannot REASSIGN OWNED;
// DeleteUser falls back to Vault's revocations and still drops the role.
// Without the right to signal backends it cannot end sessions: then it
// fails and keeps the role for a retry.
func TestDeleteUserUnprivilegedRoot(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	conn := superConn(t, pg)
	ctx := testCtx(t)
	if _, err := conn.Exec(ctx, `CREATE ROLE croot LOGIN CREATEROLE PASSWORD 'croot-pw'`); err != nil {
		t.Fatal(err)
	}
	db := newDatabase(t, pg, func(c *dbplugin.Config) { c.Username, c.Password = "croot", "croot-pw" })

	user := newUser(t, db, "pw", time.Now().Add(time.Hour))
	session, err := pgx.Connect(ctx, pg.URLFor(user, "pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close(context.Background())
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: user}); err == nil {
		t.Fatal("DeleteUser succeeded without the right to end the user's session")
	}
	if !roleExists(t, conn, user) {
		t.Fatal("role dropped although its session could not be ended")
	}
	if err := login(ctx, pg, user, "pw"); err == nil {
		t.Fatal("user still logs in after a failed DeleteUser (want NOLOGIN)")
	}

	if _, err := conn.Exec(ctx, `GRANT pg_signal_backend TO croot`); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, dbplugin.DeleteUserRequest{Username: user}); err != nil {
		t.Fatalf("DeleteUser with pg_signal_backend: %v", err)
	}
	if roleExists(t, conn, user) {
		t.Fatal("role survived")
	}
	if err := session.Ping(ctx); err == nil {
		t.Fatal("session survived")
	}
}
