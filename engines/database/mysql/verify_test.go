package mysql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/secretumvault/secretumvault/engines/database/dbplugin"
	mysqlplugin "github.com/secretumvault/secretumvault/engines/database/mysql"
)

func TestVerifyCredentials(t *testing.T) {
	root := rootDB(t)
	db := newPlugin(t, rootConfig())
	pw := newPassword()
	user := newUser(t, db, root, pw, `CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`)
	if err := db.VerifyCredentials(testCtx(t), user, pw); err != nil {
		t.Fatalf("right password: %v", err)
	}
	noSecret := func(t *testing.T, err error, secrets ...string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("error holds a password: %v", err)
			}
		}
	}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", user, newPassword()},
		{"unknown user", "no_such_user_" + randomSuffix(6), pw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.VerifyCredentials(testCtx(t), tc.user, tc.password)
			if !errors.Is(err, dbplugin.ErrAuthFailed) {
				t.Fatalf("err = %v, want ErrAuthFailed", err)
			}
			noSecret(t, err, tc.password)
		})
	}

	down := mysqlplugin.New()
	if err := down.Initialize(testCtx(t), dbplugin.Config{
		ConnectionURL: "{{username}}:{{password}}@tcp(127.0.0.1:1)/", Username: "u", Password: "Down-pw-0001",
	}); err != nil {
		t.Fatal(err)
	}
	err := down.VerifyCredentials(testCtx(t), user, pw)
	if err == nil || errors.Is(err, dbplugin.ErrAuthFailed) {
		t.Fatalf("unreachable: err = %v, want a plain error", err)
	}
	noSecret(t, err, pw, "Down-pw-0001")
	_ = down.Close()
	if err := down.VerifyCredentials(testCtx(t), user, pw); !errors.Is(err, dbplugin.ErrNotInitialized) {
		t.Fatalf("after Close: %v", err)
	}
}
