package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	"github.com/secretumvault/secretumvault/engines/database/postgres"
	"github.com/secretumvault/secretumvault/internal/dbtest"
)

func TestVerifyCredentials(t *testing.T) {
	t.Parallel()
	pg := dbtest.StartPostgres(t)
	db := newDatabase(t, pg)
	const pw = "Verify-pw-0001"
	user := newUser(t, db, pw, time.Now().Add(time.Hour))
	if err := db.VerifyCredentials(testCtx(t), user, pw); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", user, "Wrong-pw-0001"},
		{"unknown user", "no_such_user", pw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.VerifyCredentials(testCtx(t), tc.user, tc.password)
			if !errors.Is(err, dbplugin.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
			assertNoSecret(t, err, tc.password, pg.Password())
		})
	}

	// Unreachable (the pool's config points at a closed port): not an
	// authentication failure.
	down := postgres.New()
	if err := down.Initialize(testCtx(t), dbplugin.Config{
		ConnectionURL: "postgres://{{username}}:{{password}}@127.0.0.1:1/postgres?sslmode=disable",
		Username:      "u", Password: "Down-pw-0001",
	}); err != nil {
		t.Fatal(err)
	}
	err := down.VerifyCredentials(testCtx(t), user, pw)
	if err == nil || errors.Is(err, dbplugin.ErrAuthFailed) {
		t.Fatalf("unreachable: err = %v, want a plain error", err)
	}
	assertNoSecret(t, err, pw, "Down-pw-0001")
	_ = down.Close()
	if err := down.VerifyCredentials(testCtx(t), user, pw); !errors.Is(err, dbplugin.ErrNotInitialized) {
		t.Fatalf("after Close: %v", err)
	}
}
